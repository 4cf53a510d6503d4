// Package chart renders charts/tenancy-apiserver with the helm binary that make helm builds
// into _output/bin, for the chart's own tests and for the e2e tests that apply what it renders.
package chart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Dir is the chart's directory.
func Dir() string { return filepath.Join(Root(), "charts", "tenancy-apiserver") }

// HelmPath is the helm binary: $HELM, or _output/bin/helm. It fails the test when there is
// none, naming the make target that builds it.
func HelmPath(t testing.TB) string {
	t.Helper()
	path := os.Getenv("HELM")
	if path == "" {
		path = filepath.Join(Root(), "_output", "bin", "helm")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("helm is not built (%v): run make helm, or make test-chart, which builds it first", err)
	}
	return path
}

// Helm runs helm with args and returns its standard output, or its standard error and the
// error when it fails.
func Helm(t testing.TB, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(HelmPath(t), args...)
	// No user or cluster configuration leaks into the run.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home,
		"HELM_DATA_HOME="+home, "KUBECONFIG="+filepath.Join(home, "none"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// Template renders the chart as release name in namespace with extra helm template args
// (--values, --set) and returns the YAML, failing the test when helm fails.
func Template(t testing.TB, name, namespace string, args ...string) string {
	t.Helper()
	out, stderr, err := Helm(t, append([]string{"template", name, Dir(), "--namespace", namespace}, args...)...)
	if err != nil {
		t.Fatalf("helm template %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// Objects splits rendered YAML into its objects.
func Objects(t testing.TB, rendered string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(rendered)))
	for {
		doc, err := reader.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatalf("reading the rendered chart: %v", err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			t.Fatalf("a rendered document is not YAML: %v\n%s", err, doc)
		}
		objs = append(objs, obj)
	}
}

// Find returns the object of kind and name, failing the test when there is none.
func Find(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, obj := range objs {
		if obj.GetKind() == kind && obj.GetName() == name {
			return obj
		}
	}
	var have []string
	for _, obj := range objs {
		have = append(have, obj.GetKind()+"/"+obj.GetName())
	}
	t.Fatalf("no %s %q rendered; rendered: %s", kind, name, strings.Join(have, ", "))
	return nil
}

// ToYAML writes objs back as one multi-document YAML.
func ToYAML(t testing.TB, objs []*unstructured.Unstructured) string {
	t.Helper()
	var b strings.Builder
	for _, obj := range objs {
		out, err := yaml.Marshal(obj.Object)
		if err != nil {
			t.Fatalf("%s/%s: %v", obj.GetKind(), obj.GetName(), err)
		}
		fmt.Fprintf(&b, "---\n%s", out)
	}
	return b.String()
}

func stripComments(doc []byte) []byte {
	var kept [][]byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			kept = append(kept, line)
		}
	}
	return bytes.Join(kept, []byte("\n"))
}
