package framework

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/version"
)

func TestStaleness(t *testing.T) {
	const head, older = "2fe337646145370217f5e2c1135b5bedf5fc3764", "31b78ed0a4b3c1d2e5f60718293a4b5c6d7e8f90"
	for _, tc := range []struct {
		name       string
		want       Build
		served     version.Info
		sameBinary bool
		// stale is a part of the reason, "" when the replica is current.
		stale string
	}{
		{name: "clean tree, same commit", want: Build{Commit: head},
			served: version.Info{GitCommit: head, GitTreeState: "clean"}, sameBinary: true},
		{name: "clean tree, same commit, another build of it", want: Build{Commit: head},
			served: version.Info{GitCommit: head, GitTreeState: "clean"}, sameBinary: false},
		{name: "older commit", want: Build{Commit: head},
			served: version.Info{GitCommit: older, GitTreeState: "clean"}, sameBinary: true,
			stale: `serves commit "` + older + `"`},
		{name: "unstamped build", want: Build{Commit: head},
			served: version.Info{GitCommit: "$Format:%H$"}, sameBinary: true, stale: `serves commit "$Format:%H$"`},
		{name: "clean build, dirty tree", want: Build{Commit: head, Dirty: true},
			served: version.Info{GitCommit: head, GitTreeState: "clean"}, sameBinary: true,
			stale: "built from a clean tree"},
		{name: "dirty build, tree committed since", want: Build{Commit: head},
			served: version.Info{GitCommit: head, GitTreeState: "dirty"}, sameBinary: true,
			stale: "built from a dirty tree"},
		{name: "dirty tree, the binary built last", want: Build{Commit: head, Dirty: true},
			served: version.Info{GitCommit: head, GitTreeState: "dirty"}, sameBinary: true},
		{name: "dirty tree, rebuilt since", want: Build{Commit: head, Dirty: true},
			served: version.Info{GitCommit: head, GitTreeState: "dirty"}, sameBinary: false,
			stale: "not the binary built last"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := staleness(tc.want, &tc.served, tc.sameBinary)
			if tc.stale == "" && got != "" {
				t.Fatalf("staleness = %q, want current", got)
			}
			if !strings.Contains(got, tc.stale) {
				t.Fatalf("staleness = %q, want a reason with %q", got, tc.stale)
			}
		})
	}
}

func TestSameContent(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	built := write("built", "binary one")
	for _, tc := range []struct {
		name, other string
		same        bool
	}{
		{"the file itself", built, true},
		{"a copy", write("copy", "binary one"), true},
		{"same size, other bytes", write("rebuilt", "binary two"), false},
		{"other size", write("longer", "binary three"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			same, err := sameContent(tc.other, built)
			if err != nil {
				t.Fatal(err)
			}
			if same != tc.same {
				t.Fatalf("sameContent = %v, want %v", same, tc.same)
			}
		})
	}
	if _, err := sameContent(filepath.Join(dir, "missing"), built); err == nil {
		t.Fatal("sameContent of a missing file: no error")
	}
}
