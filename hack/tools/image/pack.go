package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one file of the image's single layer: the host file Source at the image path Path.
type File struct {
	Source string
	Path   string
	Mode   int64
}

// Spec is what an image is made of. Everything in it is explicit, so the same Spec and the
// same files always give the same image, digest included.
type Spec struct {
	Files      []File
	Entrypoint []string
	Cmd        []string
	Env        []string
	User       string
	WorkingDir string
	Labels     map[string]string
	Created    time.Time
	OS, Arch   string
}

// Build returns the image of spec: one layer with spec's files (and their parent directories),
// and a config with spec's process settings. The image's media types are OCI's when oci is true.
func Build(spec Spec, oci bool) (v1.Image, error) {
	layerTar, err := layerTar(spec.Files, spec.Created)
	if err != nil {
		return nil, err
	}
	layerType, base := types.DockerLayer, mutate.MediaType(empty.Image, types.DockerManifestSchema2)
	if oci {
		layerType, base = types.OCILayer, mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(layerType))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created:   v1.Time{Time: spec.Created},
		CreatedBy: "imagepack",
		Comment:   "static files: " + strings.Join(paths(spec.Files), " "),
	}})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.Created = v1.Time{Time: spec.Created}
	cfg.OS, cfg.Architecture = spec.OS, spec.Arch
	cfg.Config.Entrypoint = spec.Entrypoint
	cfg.Config.Cmd = spec.Cmd
	cfg.Config.Env = spec.Env
	cfg.Config.User = spec.User
	cfg.Config.WorkingDir = spec.WorkingDir
	cfg.Config.Labels = spec.Labels
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	return img, nil
}

func paths(files []File) []string {
	out := make([]string, 0, len(files))
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

// layerTar writes files into an uncompressed tar, sorted by path, owned by root, dated
// created, with an entry for every parent directory.
func layerTar(files []File, created time.Time) ([]byte, error) {
	byPath := map[string]File{}
	dirs := map[string]bool{}
	for _, f := range files {
		p := path.Clean("/" + f.Path)
		if p == "/" {
			return nil, fmt.Errorf("file %q: the image path %q is not a file path", f.Source, f.Path)
		}
		if _, dup := byPath[p]; dup {
			return nil, fmt.Errorf("file %q: image path %s given twice", f.Source, p)
		}
		byPath[p] = f
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for p := range byPath {
		if dirs[p] {
			return nil, fmt.Errorf("image path %s is both a file and a directory", p)
		}
	}
	names := make([]string, 0, len(byPath)+len(dirs))
	for p := range byPath {
		names = append(names, p)
	}
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range names {
		hdr := &tar.Header{Name: strings.TrimPrefix(p, "/"), ModTime: created, Format: tar.FormatPAX}
		if dirs[p] {
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, hdr.Name+"/", 0o755
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
			continue
		}
		f := byPath[p]
		data, err := os.ReadFile(f.Source)
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", p, err)
		}
		hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, int64(len(data)), f.Mode
		if hdr.Mode == 0 {
			info, err := os.Stat(f.Source)
			if err != nil {
				return nil, fmt.Errorf("file %s: %w", p, err)
			}
			hdr.Mode = int64(info.Mode().Perm())
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
