// Command imagepack packs static binaries and files into a container image tarball, without
// a Docker engine: one layer with the given files, a config with the given process settings,
// reproducible (fixed times and owners, so the same inputs give the same digest). The tarball
// loads with `ctr -n k8s.io images import` and `docker load`.
//
//	imagepack --tag=registry.k8s.io/pause:local --output=pause.tar \
//	  --file=_output/bin/pause:/pause --entrypoint=/pause --user=65535:65535
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "imagepack: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("imagepack", flag.ContinueOnError)
	var files, entrypoint, cmd, env, labels list
	tag := fs.String("tag", "", "the image's name, e.g. registry.k8s.io/pause:local (required)")
	output := fs.String("output", "", "the tarball to write (required); left alone when its content would not change")
	format := fs.String("format", "docker", "tarball format: docker (`docker save`) or oci (an OCI image layout)")
	user := fs.String("user", "", "the user the process runs as, e.g. 65532:65532")
	workdir := fs.String("workdir", "", "the process's working directory")
	created := fs.String("created", "", "the image's creation time, RFC 3339 (default $SOURCE_DATE_EPOCH, else the Unix epoch)")
	platform := fs.String("platform", runtime.GOOS+"/"+runtime.GOARCH, "os/arch of the binaries")
	fs.Var(&files, "file", "SOURCE:PATH[:MODE] a host file at PATH in the image, MODE in octal (default the source's); repeatable")
	fs.Var(&entrypoint, "entrypoint", "one word of the entrypoint; repeatable")
	fs.Var(&cmd, "cmd", "one word of the command (the entrypoint's arguments); repeatable")
	fs.Var(&env, "env", "NAME=VALUE in the process environment; repeatable")
	fs.Var(&labels, "label", "KEY=VALUE label of the image; repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	spec, ref, oci, err := parse(*tag, *output, *format, *user, *workdir, *created, *platform, files, entrypoint, cmd, env, labels)
	if err != nil {
		return err
	}
	img, err := Build(spec, oci)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := Archive(&buf, ref, img, oci, spec.Created); err != nil {
		return fmt.Errorf("--output %s: %w", *output, err)
	}
	changed, err := writeIfChanged(*output, buf.Bytes())
	if err != nil {
		return fmt.Errorf("--output %s: %w", *output, err)
	}
	digest, _ := img.Digest()
	state := "unchanged"
	if changed {
		state = "written"
	}
	fmt.Fprintf(os.Stderr, "imagepack: %s %s (%s, %s)\n", *output, state, ref.Name(), digest)
	return nil
}

// parse checks every flag, reporting all errors at once, each naming its flag.
func parse(tag, output, format, user, workdir, created, platform string, files, entrypoint, cmd, env, labels list) (Spec, name.Tag, bool, error) {
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	spec := Spec{Entrypoint: entrypoint, Cmd: cmd, Env: env, User: user, WorkingDir: workdir}
	ref, err := name.NewTag(tag, name.StrictValidation)
	if tag == "" {
		bad("--tag is required")
	} else if err != nil {
		bad("--tag %q: %v", tag, err)
	}
	if output == "" {
		bad("--output is required")
	}
	oci := format == "oci"
	if format != "docker" && format != "oci" {
		bad("--format %q: must be docker or oci", format)
	}
	if len(files) == 0 {
		bad("--file: at least one file is required")
	}
	for _, f := range files {
		parts := strings.Split(f, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			bad("--file %q: want SOURCE:PATH[:MODE]", f)
			continue
		}
		file := File{Source: parts[0], Path: parts[1]}
		if len(parts) == 3 {
			mode, err := strconv.ParseInt(parts[2], 8, 32)
			if err != nil || mode <= 0 || mode > 0o7777 {
				bad("--file %q: MODE %q is not an octal file mode", f, parts[2])
				continue
			}
			file.Mode = mode
		}
		if _, err := os.Stat(file.Source); err != nil {
			bad("--file %q: %v", f, err)
			continue
		}
		spec.Files = append(spec.Files, file)
	}
	for _, e := range env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			bad("--env %q: want NAME=VALUE", e)
		}
	}
	if len(labels) > 0 {
		spec.Labels = map[string]string{}
	}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			bad("--label %q: want KEY=VALUE", l)
			continue
		}
		spec.Labels[k] = v
	}
	var ok bool
	spec.OS, spec.Arch, ok = strings.Cut(platform, "/")
	if !ok || spec.OS == "" || spec.Arch == "" {
		bad("--platform %q: want os/arch", platform)
	}
	spec.Created = time.Unix(0, 0).UTC()
	switch {
	case created != "":
		t, err := time.Parse(time.RFC3339, created)
		if err != nil {
			bad("--created %q: %v", created, err)
		}
		spec.Created = t.UTC()
	case os.Getenv("SOURCE_DATE_EPOCH") != "":
		s, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64)
		if err != nil {
			bad("$SOURCE_DATE_EPOCH %q: %v", os.Getenv("SOURCE_DATE_EPOCH"), err)
		}
		spec.Created = time.Unix(s, 0).UTC()
	}
	if len(errs) > 0 {
		return Spec{}, name.Tag{}, false, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return spec, ref, oci, nil
}
