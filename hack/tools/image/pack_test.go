package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPackIsReproducibleAndLoadable(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, dir, "server", "#!binary", 0o755)
	passwd := writeFile(t, dir, "passwd", "nonroot:x:65532:65532::/:/sbin/nologin\n", 0o600)
	args := func(out string) []string {
		return []string{"--tag=example.test/server:v1", "--output=" + out,
			"--file=" + bin + ":/usr/bin/server", "--file=" + passwd + ":/etc/passwd:0644",
			"--entrypoint=/usr/bin/server", "--cmd=--port=8443", "--user=65532:65532",
			"--env=A=b", "--label=org.opencontainers.image.title=server", "--created=2026-01-02T03:04:05Z"}
	}
	first, second := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	for _, out := range []string{first, second} {
		if err := run(args(out)); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := os.ReadFile(first)
	b, _ := os.ReadFile(second)
	if !bytes.Equal(a, b) {
		t.Fatal("the same inputs gave two different tarballs")
	}
	info, _ := os.Stat(first)
	if err := run(args(first)); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Stat(first); !again.ModTime().Equal(info.ModTime()) {
		t.Error("an unchanged image was rewritten")
	}

	tag, _ := name.NewTag("example.test/server:v1")
	img, err := tarball.ImageFromPath(first, &tag)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Config.Entrypoint, " ") + "|" + strings.Join(cfg.Config.Cmd, " "); got != "/usr/bin/server|--port=8443" {
		t.Errorf("entrypoint|cmd = %q", got)
	}
	if cfg.Config.User != "65532:65532" || cfg.Config.Labels["org.opencontainers.image.title"] != "server" || cfg.Created.Year() != 2026 {
		t.Errorf("config = %+v, created %v", cfg.Config, cfg.Created)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var entries []string
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, hdr.Name+" "+os.FileMode(hdr.Mode).String())
		if hdr.Uid != 0 || hdr.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want root", hdr.Name, hdr.Uid, hdr.Gid)
		}
	}
	want := "etc/ -rwxr-xr-x,etc/passwd -rw-r--r--,usr/ -rwxr-xr-x,usr/bin/ -rwxr-xr-x,usr/bin/server -rwxr-xr-x"
	if got := strings.Join(entries, ","); got != want {
		t.Errorf("layer =\n %s\nwant\n %s", got, want)
	}
}

func TestPackOCILayoutNamesTheImage(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, dir, "pause", "x", 0o755)
	out := filepath.Join(dir, "oci.tar")
	if err := run([]string{"--tag=registry.k8s.io/pause:local", "--output=" + out, "--format=oci", "--file=" + bin + ":/pause"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var index []byte
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		if hdr.Name == "index.json" {
			raw, _ := io.ReadAll(tr)
			var compact bytes.Buffer
			if err := json.Compact(&compact, raw); err != nil {
				t.Fatal(err)
			}
			index = compact.Bytes()
		}
	}
	for _, want := range []string{`"io.containerd.image.name":"registry.k8s.io/pause:local"`, `"org.opencontainers.image.ref.name":"local"`, "application/vnd.oci.image.manifest.v1+json"} {
		if !bytes.Contains(index, []byte(want)) {
			t.Errorf("index.json lacks %s: %s", want, index)
		}
	}
}

func TestFlagErrorsNameTheFlag(t *testing.T) {
	err := run([]string{"--tag=Bad Tag", "--format=zip", "--file=/nonexistent:/x", "--file=nocolon", "--env=novalue", "--label==x", "--created=yesterday"})
	if err == nil {
		t.Fatal("bad flags were accepted")
	}
	for _, want := range []string{"--tag", "--output is required", "--format", "--file \"/nonexistent:/x\"", "--file \"nocolon\"", "--env", "--label", "--created"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestLayerRefusesConflictingPaths(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "f", "x", 0o644)
	if _, err := layerTar([]File{{Source: f, Path: "/a"}, {Source: f, Path: "a"}}, time.Unix(0, 0)); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("duplicate path: %v", err)
	}
	if _, err := layerTar([]File{{Source: f, Path: "/a"}, {Source: f, Path: "/a/b"}}, time.Unix(0, 0)); err == nil || !strings.Contains(err.Error(), "both a file and a directory") {
		t.Errorf("file and directory: %v", err)
	}
}
