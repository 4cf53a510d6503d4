package main

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// dockerTarball writes img as `docker save` does, named ref.
func dockerTarball(t *testing.T, ref string, img v1.Image) string {
	t.Helper()
	tag, _ := name.NewTag(ref)
	p := filepath.Join(t.TempDir(), "docker.tar")
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// ociTarball writes img as an OCI image layout tarball with containerd's name annotation, as
// imagepack does.
func ociTarball(t *testing.T, ref string, img v1.Image) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"io.containerd.image.name": ref})); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil || tw.Close() != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "oci.tar")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPushImageTarballsUnderTheirRepositories(t *testing.T) {
	s := startServed(t)
	pause, _ := random.Image(256, 1)
	product, _ := random.Image(512, 2)
	files := []string{dockerTarball(t, "registry.k8s.io/pause:local", pause), ociTarball(t, "ghcr.io/tenancy-apiserver/tenancy-apiserver:v1", product)}
	var out bytes.Buffer
	args := []string{"--address=" + s.addr, "--ca-file=" + s.caFile, "--username=" + user, "--password-file=" + s.passwordFile}
	if err := push(append(args, files...), &out); err != nil {
		t.Fatalf("push: %v\n%s", err, out.String())
	}
	for ref, img := range map[string]v1.Image{s.addr + "/pause:local": pause, s.addr + "/tenancy-apiserver/tenancy-apiserver:v1": product} {
		r, _ := name.ParseReference(ref)
		got, err := remote.Image(r, remote.WithTransport(s.transport), remote.WithAuth(&authn.Basic{Username: user, Password: password}))
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
		want, _ := img.Digest()
		if d, _ := got.Digest(); d != want {
			t.Errorf("%s is %s, pushed %s", ref, d, want)
		}
		if !strings.Contains(out.String(), "as "+ref+"@"+want.String()) {
			t.Errorf("push output does not report %s@%s:\n%s", ref, want, out.String())
		}
	}

	wrong := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrong, []byte("guess\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := push([]string{"--address=" + s.addr, "--ca-file=" + s.caFile, "--username=" + user, "--password-file=" + wrong, files[0]}, &out)
	if !unauthorized(err) {
		t.Errorf("push with a wrong password: %v, want 401", err)
	}
	if err := push(nil, &out); err == nil || !strings.Contains(err.Error(), "--address is required") || !strings.Contains(err.Error(), "no image tarball") {
		t.Errorf("push without flags: %v", err)
	}
}
