package image

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// What "the same file tree" is checked against. No Docker engine runs here, so the Dockerfile's
// image is its final stage as declared: every COPY destination, USER, ENTRYPOINT and LABEL,
// read from the Dockerfile itself; plus, from its base gcr.io/distroless/static-debian12, only
// the files and environment the server uses, listed here. The base's other files (tzdata,
// /tmp, /home/nonroot, os-release, dpkg status, licenses) are left out on purpose: the server
// loads no time zones and the chart runs it with a read-only root file system.
var (
	// baseFiles are the distroless files make image packs too, with their modes.
	baseFiles = map[string]int64{
		"/etc/passwd":                        0o644,
		"/etc/group":                         0o644,
		"/etc/ssl/certs/ca-certificates.crt": 0o644,
	}
	// baseEnv is distroless/static's process environment.
	baseEnv = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
	}
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// build is the image under test: build-image.sh's output for a stand-in binary.
type build struct {
	tarball, binary, caBundle string
	name, version, commit     string
	date                      string
}

// packStandIn runs hack/build-image.sh, as make image does, on a stand-in binary and CA bundle.
func packStandIn(t *testing.T, out string) build {
	t.Helper()
	dir := t.TempDir()
	b := build{tarball: out, binary: filepath.Join(dir, "server"), caBundle: filepath.Join(dir, "ca.pem"),
		name: "example.test/tenancy-apiserver:v9.9.9-test", version: "v9.9.9-test",
		commit: "0123456789abcdef0123456789abcdef01234567", date: "2026-01-02T03:04:05Z"}
	if err := os.WriteFile(b.binary, []byte("\x7fELF stand-in"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.caBundle, []byte("-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(repoRoot(t), "hack", "build-image.sh"))
	cmd.Env = append(os.Environ(), "OUTPUT_BIN="+filepath.Join(dir, "bin"), "BINARY="+b.binary, "OUTPUT="+out,
		"CA_BUNDLE="+b.caBundle, "IMAGE="+b.name, "VERSION="+b.version, "COMMIT="+b.commit, "BUILD_DATE="+b.date)
	if outp, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build-image.sh: %v\n%s", err, outp)
	}
	return b
}

// imageUnderTest is make image's tarball when IMAGE_TARBALL names it (make test-image),
// else build-image.sh's image of a stand-in binary.
func imageUnderTest(t *testing.T) build {
	if tarball := os.Getenv("IMAGE_TARBALL"); tarball != "" {
		b := build{tarball: tarball, binary: os.Getenv("SERVER_BINARY"), caBundle: "/etc/ssl/certs/ca-certificates.crt",
			name: os.Getenv("IMAGE_NAME"), version: os.Getenv("IMAGE_VERSION"), commit: os.Getenv("IMAGE_COMMIT"), date: os.Getenv("IMAGE_BUILD_DATE")}
		for k, v := range map[string]string{"SERVER_BINARY": b.binary, "IMAGE_NAME": b.name, "IMAGE_VERSION": b.version, "IMAGE_COMMIT": b.commit, "IMAGE_BUILD_DATE": b.date} {
			if v == "" {
				t.Fatalf("IMAGE_TARBALL is set but %s is not (make test-image sets both)", k)
			}
		}
		return b
	}
	return packStandIn(t, filepath.Join(t.TempDir(), "image.tar"))
}

func TestImageHasTheDockerfilesFinalStage(t *testing.T) {
	b := imageUnderTest(t)
	stage, err := ParseFinalStage(filepath.Join(repoRoot(t), "Dockerfile"),
		map[string]string{"VERSION": b.version, "COMMIT": b.commit, "BUILD_DATE": b.date})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stage.Base, "gcr.io/distroless/static") {
		t.Fatalf("the Dockerfile's base is %s: baseFiles and baseEnv describe distroless/static, update them", stage.Base)
	}
	img, err := ReadOCI(b.tarball)
	if err != nil {
		t.Fatal(err)
	}
	if img.Name != b.name {
		t.Errorf("image name = %q, want %q", img.Name, b.name)
	}
	if img.Manifest.MediaType != "application/vnd.oci.image.manifest.v1+json" || img.Manifest.Config.MediaType != "application/vnd.oci.image.config.v1+json" {
		t.Errorf("media types: manifest %s, config %s; want OCI's", img.Manifest.MediaType, img.Manifest.Config.MediaType)
	}
	if len(img.Layers) != 1 {
		t.Fatalf("%d layers, want 1", len(img.Layers))
	}

	// The file tree: the COPY destinations and the base files, with their parent directories,
	// and nothing else; all owned by root, so the non-root user cannot change them.
	want := map[string]string{}
	for dst := range stage.Copies {
		want[dst] = "-rwxr-xr-x"
	}
	for p, mode := range baseFiles {
		want[p] = os.FileMode(mode).String()
	}
	for p := range want {
		for d := filepath.Dir(p); d != "/"; d = filepath.Dir(d) {
			want[d] = "d" + os.FileMode(0o755).String()[1:]
		}
	}
	got := map[string]string{}
	files := map[string][]byte{}
	for _, e := range img.Layers[0] {
		mode := os.FileMode(e.Mode).String()
		if e.Dir {
			mode = "d" + mode[1:]
		}
		got[e.Name] = mode
		files[e.Name] = e.Data
		if e.Uid != 0 || e.Gid != 0 {
			t.Errorf("%s is owned by %d:%d, want root", e.Name, e.Uid, e.Gid)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("file tree =\n%s\nwant (the Dockerfile's COPYs and the base files)\n%s", listing(got), listing(want))
	}
	server, err := os.ReadFile(b.binary)
	if err != nil {
		t.Fatal(err)
	}
	for dst := range stage.Copies {
		if !bytes.Equal(files[dst], server) {
			t.Errorf("%s differs from %s", dst, b.binary)
		}
	}
	if ca, _ := os.ReadFile(b.caBundle); !bytes.Equal(files["/etc/ssl/certs/ca-certificates.crt"], ca) {
		t.Errorf("the CA bundle differs from %s", b.caBundle)
	}

	// The process: the Dockerfile's USER, named in /etc/passwd and /etc/group, and ENTRYPOINT.
	cfg := img.Config.Config
	if cfg.User != stage.User {
		t.Errorf("User = %q, the Dockerfile says %q", cfg.User, stage.User)
	}
	uid, gid, _ := strings.Cut(stage.User, ":")
	if uid == "" || uid == "0" || gid == "0" {
		t.Errorf("the Dockerfile's USER %q is not a numeric non-root user and group", stage.User)
	}
	if !hasEntry(files["/etc/passwd"], 2, uid) || !hasEntry(files["/etc/group"], 2, gid) {
		t.Errorf("/etc/passwd or /etc/group lacks %s:\n%s\n%s", stage.User, files["/etc/passwd"], files["/etc/group"])
	}
	if !reflect.DeepEqual(cfg.Entrypoint, stage.Entrypoint) || len(cfg.Cmd) != 0 {
		t.Errorf("Entrypoint %q, Cmd %q; the Dockerfile says ENTRYPOINT %q and no CMD", cfg.Entrypoint, cfg.Cmd, stage.Entrypoint)
	}
	env := append([]string(nil), baseEnv...)
	for k, v := range stage.Env {
		env = append(env, k+"="+v)
	}
	if !reflect.DeepEqual(cfg.Env, env) {
		t.Errorf("Env = %q, want %q", cfg.Env, env)
	}

	// The labels: exactly the Dockerfile's, with the build's values; created is the commit's date.
	if !reflect.DeepEqual(cfg.Labels, stage.Labels) {
		t.Errorf("Labels =\n%v\nthe Dockerfile's =\n%v", cfg.Labels, stage.Labels)
	}
	for _, k := range []string{"source", "revision", "version", "created"} {
		if cfg.Labels["org.opencontainers.image."+k] == "" {
			t.Errorf("label org.opencontainers.image.%s is empty", k)
		}
	}
	if img.Config.Created != b.date || cfg.Labels["org.opencontainers.image.created"] != b.date {
		t.Errorf("created %s, label %s; want the commit's date %s", img.Config.Created, cfg.Labels["org.opencontainers.image.created"], b.date)
	}
	if img.Config.OS != "linux" {
		t.Errorf("os = %s, want linux", img.Config.OS)
	}

	// The real server binary is static: no program interpreter, so it runs on a base without libc.
	if os.Getenv("IMAGE_TARBALL") != "" {
		f, err := elf.NewFile(bytes.NewReader(server))
		if err != nil {
			t.Fatalf("%s: %v", b.binary, err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked: make build must set CGO_ENABLED=0", b.binary)
			}
		}
	}
}

func TestImageIsReproducible(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	packStandIn(t, first)
	packStandIn(t, second)
	a, _ := os.ReadFile(first)
	b, _ := os.ReadFile(second)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("the same binary gave two different images (%d and %d bytes)", len(a), len(b))
	}
}

func TestBuildImageNamesAMissingBinary(t *testing.T) {
	cmd := exec.Command(filepath.Join(repoRoot(t), "hack", "build-image.sh"))
	cmd.Env = append(os.Environ(), "BINARY=/nonexistent/tenancy-apiserver", "OUTPUT="+filepath.Join(t.TempDir(), "x.tar"))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "/nonexistent/tenancy-apiserver does not exist") {
		t.Errorf("build-image.sh with a missing binary: %v\n%s", err, out)
	}
}

func hasEntry(file []byte, field int, id string) bool {
	for _, line := range strings.Split(string(file), "\n") {
		if f := strings.Split(line, ":"); len(f) > field && f[field] == id {
			return true
		}
	}
	return false
}

func listing(m map[string]string) string {
	var lines []string
	for p, mode := range m {
		lines = append(lines, fmt.Sprintf("  %s %s", mode, p))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
