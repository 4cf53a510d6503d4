package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Entry is one entry of an image layer.
type Entry struct {
	Name     string
	Mode     int64
	Uid, Gid int
	Dir      bool
	Data     []byte
}

// Config is the part of an OCI image config the checks read.
type Config struct {
	Created      string `json:"created"`
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Config       struct {
		User       string            `json:"User"`
		Entrypoint []string          `json:"Entrypoint"`
		Cmd        []string          `json:"Cmd"`
		Env        []string          `json:"Env"`
		WorkingDir string            `json:"WorkingDir"`
		Labels     map[string]string `json:"Labels"`
	} `json:"config"`
}

// Image is an image read from an OCI image layout tarball.
type Image struct {
	// Name is the index's io.containerd.image.name annotation.
	Name     string
	Manifest struct {
		MediaType string `json:"mediaType"`
		Config    struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"config"`
		Layers []struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"layers"`
	}
	Config Config
	// Layers holds each layer's entries in order.
	Layers [][]Entry
}

// ReadOCI reads the single image of the OCI image layout tarball at path.
func ReadOCI(path string) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if files[hdr.Name], err = io.ReadAll(tr); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, hdr.Name, err)
			}
		}
	}
	var index struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		return nil, fmt.Errorf("%s: index.json: %w", path, err)
	}
	if len(index.Manifests) != 1 {
		return nil, fmt.Errorf("%s: index.json has %d manifests, want 1", path, len(index.Manifests))
	}
	blob := func(digest string) []byte { return files["blobs/"+strings.Replace(digest, ":", "/", 1)] }
	img := &Image{Name: index.Manifests[0].Annotations["io.containerd.image.name"]}
	if err := json.Unmarshal(blob(index.Manifests[0].Digest), &img.Manifest); err != nil {
		return nil, fmt.Errorf("%s: manifest %s: %w", path, index.Manifests[0].Digest, err)
	}
	if err := json.Unmarshal(blob(img.Manifest.Config.Digest), &img.Config); err != nil {
		return nil, fmt.Errorf("%s: config %s: %w", path, img.Manifest.Config.Digest, err)
	}
	for _, l := range img.Manifest.Layers {
		entries, err := layerEntries(blob(l.Digest))
		if err != nil {
			return nil, fmt.Errorf("%s: layer %s: %w", path, l.Digest, err)
		}
		img.Layers = append(img.Layers, entries)
	}
	return img, nil
}

func layerEntries(data []byte) ([]Entry, error) {
	var r io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		r = gz
	}
	var out []Entry
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		e := Entry{Name: "/" + strings.TrimSuffix(hdr.Name, "/"), Mode: hdr.Mode, Uid: hdr.Uid, Gid: hdr.Gid, Dir: hdr.Typeflag == tar.TypeDir}
		if !e.Dir {
			if e.Data, err = io.ReadAll(tr); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
}
