package main

import (
	"archive/tar"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// push is `registry push`: it pushes the images of image tarballs (docker save's format or an
// OCI image layout, as imagepack writes them) to the registry at --address, each under its own
// repository and tag with the registry host replaced: registry.k8s.io/pause:local goes to
// ADDRESS/pause:local, ghcr.io/org/app:v1 to ADDRESS/org/app:v1.
func push(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("registry push", flag.ContinueOnError)
	address := fs.String("address", "", "the registry's host:port (required)")
	caFile := fs.String("ca-file", "", "the registry's CA, its --cert-dir/ca.crt (required)")
	username := fs.String("username", "", "the registry's user (required)")
	passwordFile := fs.String("password-file", "", "file holding the user's password (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var errs []string
	for _, f := range []struct{ flag, value string }{{"--address", *address}, {"--ca-file", *caFile}, {"--username", *username}, {"--password-file", *passwordFile}} {
		if f.value == "" {
			errs = append(errs, f.flag+" is required")
		}
	}
	if fs.NArg() == 0 {
		errs = append(errs, "no image tarball given")
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	caPEM, err := os.ReadFile(*caFile)
	if err != nil {
		return fmt.Errorf("--ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("--ca-file %s: no PEM certificate", *caFile)
	}
	password, err := os.ReadFile(*passwordFile)
	if err != nil {
		return fmt.Errorf("--password-file: %w", err)
	}
	opts := []remote.Option{
		remote.WithTransport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}),
		remote.WithAuth(&authn.Basic{Username: *username, Password: strings.TrimSpace(string(password))}),
	}
	for _, file := range fs.Args() {
		images, cleanup, err := readTarball(file)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		err = pushAll(images, *address, opts, out)
		cleanup()
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}
	return nil
}

func pushAll(images map[name.Tag]v1.Image, address string, opts []remote.Option, out io.Writer) error {
	for src, img := range images {
		dst, err := name.NewTag(address+"/"+src.RepositoryStr()+":"+src.TagStr(), name.StrictValidation)
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		if err := remote.Write(dst, img, opts...); err != nil {
			return fmt.Errorf("push %s: %w", dst, err)
		}
		digest, _ := img.Digest()
		fmt.Fprintf(out, "pushed %s as %s@%s\n", src, dst, digest)
	}
	return nil
}

// readTarball returns the named images of an image tarball, readable until cleanup is called.
func readTarball(file string) (_ map[name.Tag]v1.Image, cleanup func(), err error) {
	cleanup = func() {}
	oci, err := hasEntry(file, "oci-layout")
	if err != nil {
		return nil, cleanup, err
	}
	if !oci {
		m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(file) })
		if err != nil {
			return nil, cleanup, err
		}
		images := map[name.Tag]v1.Image{}
		for _, d := range m {
			for _, t := range d.RepoTags {
				tag, err := name.NewTag(t)
				if err != nil {
					return nil, cleanup, fmt.Errorf("tag %q: %w", t, err)
				}
				if images[tag], err = tarball.ImageFromPath(file, &tag); err != nil {
					return nil, cleanup, err
				}
			}
		}
		return images, cleanup, nil
	}
	dir, err := os.MkdirTemp("", "registry-push-")
	if err != nil {
		return nil, cleanup, err
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	if err := untar(file, dir); err != nil {
		return nil, cleanup, err
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, cleanup, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, cleanup, err
	}
	images := map[name.Tag]v1.Image{}
	for _, d := range im.Manifests {
		ref := d.Annotations["io.containerd.image.name"]
		if ref == "" {
			continue
		}
		tag, err := name.NewTag(ref)
		if err != nil {
			return nil, cleanup, fmt.Errorf("io.containerd.image.name %q: %w", ref, err)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, cleanup, err
		}
		images[tag] = img
	}
	if len(images) == 0 {
		return nil, cleanup, errors.New("no manifest is named by an io.containerd.image.name annotation")
	}
	return images, cleanup, nil
}

func hasEntry(file, entry string) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if strings.TrimPrefix(hdr.Name, "./") == entry {
			return true, nil
		}
	}
}

func untar(file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.Clean("/"+hdr.Name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			w, err := os.Create(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(w, tr)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}
