package main

import (
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make build makes a static binary (no ELF interpreter, no shared libraries), built with
// CGO_ENABLED=0 and -trimpath, whose --version prints the version, commit and date stamped
// by the ldflags.
func TestMakeBuildIsStaticAndStamped(t *testing.T) {
	out := t.TempDir()
	const ver, commit, date = "v9.8.7-buildtest", "0123456789abcdef", "2001-02-03T04:05:06Z"
	build := exec.Command("make", "-C", filepath.Join("..", ".."), "--no-print-directory", "build",
		"OUTPUT="+out, "VERSION="+ver, "COMMIT="+commit, "BUILD_DATE="+date)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, b)
	}
	binary := filepath.Join(out, "bin", "tenancy-apiserver")

	f, err := elf.Open(binary)
	if err != nil {
		t.Fatalf("reading %s as ELF: %v", binary, err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary has an ELF interpreter (PT_INTERP): it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}

	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		t.Fatalf("reading the build information of %s: %v", binary, err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for key, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true"} {
		if settings[key] != want {
			t.Errorf("build setting %s = %q, want %q", key, settings[key], want)
		}
	}
	wd, _ := os.Getwd()
	if data, err := os.ReadFile(binary); err == nil && strings.Contains(string(data), wd) {
		t.Errorf("the binary holds the build directory %s: not built with -trimpath", wd)
	}

	got, err := exec.Command(binary, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", binary, err)
	}
	for _, want := range []string{"tenancy-apiserver " + ver, "commit " + commit, "built " + date} {
		if !strings.Contains(string(got), want) {
			t.Errorf("--version printed %q, want it to contain %q", got, want)
		}
	}

	// A second make build of the same sources keeps the binary: nothing is relinked (go build
	// only touches an up-to-date target, so the file is the same, not a new one).
	before, err := os.Stat(binary)
	if err != nil {
		t.Fatal(err)
	}
	content, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	again := exec.Command("make", "-C", filepath.Join("..", ".."), "--no-print-directory", "build",
		"OUTPUT="+out, "VERSION="+ver, "COMMIT="+commit, "BUILD_DATE="+date)
	if b, err := again.CombinedOutput(); err != nil {
		t.Fatalf("second make build: %v\n%s", err, b)
	}
	after, err := os.Stat(binary)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(binary); !os.SameFile(before, after) || string(again) != string(content) {
		t.Errorf("a second make build of the same sources wrote a new binary")
	}
}

// The build date make build stamps by default is the commit's, so it does not change from one
// make build to the next and a warm make local-up does not relink the server.
func TestMakeBuildDateIsTheCommitDate(t *testing.T) {
	cmd := exec.Command("git", "log", "-1", "--format=%cd", "--date=format-local:%Y-%m-%dT%H:%M:%SZ")
	cmd.Env = append(os.Environ(), "TZ=UTC")
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("git log: %v", err)
	}
	dry, err := exec.Command("make", "-C", filepath.Join("..", ".."), "--no-print-directory", "-n", "build").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build: %v\n%s", err, dry)
	}
	stamp := "buildDate=" + strings.TrimSpace(string(want))
	if !strings.Contains(string(dry), stamp) {
		t.Errorf("make build stamps %q, want the commit date %s", dry, stamp)
	}
}
