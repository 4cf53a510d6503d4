package localenv_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/localenv"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]string
	}{
		{"plain values", "A=1\nB=/a/b:c\n", map[string]string{"A": "1", "B": "/a/b:c"}},
		{"comments and blank lines", "# settings\n\n  \nA=1\n", map[string]string{"A": "1"}},
		{"an empty value", "A=\n", map[string]string{"A": ""}},
		{"an equals sign in the value", "URL=https://x/?a=b\n", map[string]string{"URL": "https://x/?a=b"}},
		{"single quotes", "A='a b'\n", map[string]string{"A": "a b"}},
		{"a single quote inside single quotes", `A='it'\''s'` + "\n", map[string]string{"A": "it's"}},
		{"special characters inside single quotes", `A='$x "y" \z #'` + "\n", map[string]string{"A": `$x "y" \z #`}},
		{"double quotes", `A="a 'b' \"c\" \\ \$ \z"` + "\n", map[string]string{"A": `a 'b' "c" \ $ \z`}},
		{"backslash escapes, as printf %q writes them", `A=a\ b\'c` + "\n", map[string]string{"A": "a b'c"}},
		{"parts joined", `A=x'y z'"w"` + "\n", map[string]string{"A": "xy zw"}},
		{"the later of two lines wins", "A=1\nA=2\n", map[string]string{"A": "2"}},
		{"no newline at the end", "A=1", map[string]string{"A": "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := localenv.Parse("env", []byte(tc.in))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseRejectsMalformedLines(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"no equals sign", "A=1\nnonsense\n", `env: line 2 "nonsense": not NAME=VALUE`},
		{"an empty name", "=1\n", `env: line 1 "=1": "" is not a variable name`},
		{"a name that is no variable", "1A=1\n", `env: line 1 "1A=1": "1A" is not a variable name`},
		{"a name with a dash", "A-B=1\n", `"A-B" is not a variable name`},
		{"an unpaired single quote", "A=1\n\nB='abc\n", `env: line 3 "B='abc": the value of B: unterminated single quote at column 1`},
		{"a single quote only at the end", "B=abc'\n", `unterminated single quote at column 4`},
		{"an unpaired double quote", `B="abc` + "\n", `the value of B: unterminated double quote at column 1`},
		{"an expansion", "B=$HOME/x\n", `the value of B: '$' at column 1 would expand`},
		{"an expansion in double quotes", `B="$HOME"` + "\n", `'$' at column 2 would expand`},
		{"a command substitution", "B=`id`\n", "'`' at column 1 would expand"},
		{"an unquoted space", "B=a b\n", `the value of B: unquoted ' ' at column 2`},
		{"a second command", "B=a;rm x\n", `unquoted ';' at column 2`},
		{"a trailing backslash", `B=a\`, `a backslash ends the line`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := localenv.Parse("env", []byte(tc.in))
			require.Error(t, err, "parsed as %v", got)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestReadNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	_, err := localenv.ReadDir(dir)
	require.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, os.WriteFile(filepath.Join(dir, localenv.FileName), []byte("A=1\nB\n"), 0o644))
	_, err = localenv.ReadDir(dir)
	require.EqualError(t, err, filepath.Join(dir, "env")+`: line 2 "B": not NAME=VALUE`)
}

// values are settings with every kind of character a path, URL or flag may hold.
var values = map[string]string{
	"EMPTY":     "",
	"PORT":      "12443",
	"PATH_LIKE": "/work/a b/_output/local",
	"URL":       "https://127.0.0.1:24443/issuer?a=b&c=d",
	"QUOTES":    `it's "quoted"`,
	"DOLLAR":    "$HOME and `id` and $(id)",
	"BACKSLASH": `a\b\\c\`,
	"HASH":      "#not a comment",
	"GLOB":      "*?[a]~",
	"UNICODE":   "é ü ✓",
	"TAB":       "a\tb",
}

// shell runs script in bash with hack/lib/common.sh sourced and LOCAL_DIR set to dir.
func shell(t *testing.T, dir, script string) string {
	t.Helper()
	lib, err := filepath.Abs(filepath.Join("..", "..", "hack", "lib", "common.sh"))
	require.NoError(t, err)
	cmd := exec.Command("bash", "-c", "set -o errexit -o nounset -o pipefail; source \"$0\"; "+script, lib)
	cmd.Env = append(os.Environ(), "LOCAL_DIR="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

// What lcp::env_line writes, Read returns unchanged, and bash sourcing the file (as
// lcp::load_env does) sees the same values.
func TestShellWriterRoundTrip(t *testing.T) {
	dir := t.TempDir()
	var script strings.Builder
	script.WriteString("{\n")
	for k := range values {
		script.WriteString("lcp::env_line " + k + " \"$" + k + "\"\n")
	}
	script.WriteString("} >\"$LOCAL_ENV\"\n")
	cmd := exec.Command("bash", "-c", "set -o errexit -o nounset; source \"$0\"; "+script.String(),
		filepath.Join("..", "..", "hack", "lib", "common.sh"))
	cmd.Env = append(os.Environ(), "LOCAL_DIR="+dir)
	for k, v := range values {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

	got, err := localenv.ReadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, values, got)

	// bash reads the same file back: each value NUL-terminated, in a fixed order.
	var names []string
	for k := range values {
		names = append(names, k)
	}
	sourced := shell(t, dir, "lcp::load_env; for n in "+strings.Join(names, " ")+"; do printf '%s\\0' \"${!n}\"; done")
	fromBash := strings.Split(sourced, "\x00")
	require.Len(t, fromBash, len(names)+1, "%q", sourced)
	for i, n := range names {
		assert.Equal(t, values[n], fromBash[i], n)
	}
}

func TestShellWriterRefusesANewline(t *testing.T) {
	lib := filepath.Join("..", "..", "hack", "lib", "common.sh")
	cmd := exec.Command("bash", "-c", `source "$0"; lcp::env_line BAD $'a\nb'; echo still here`, lib)
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	assert.Equal(t, "error: the setting BAD holds a newline\n", string(out))
}

// lcp::save_env, which local-up runs, writes a file Read takes whole, a directory with a
// space and a quote in its name included.
func TestSaveEnvIsRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "it's a dir")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	shell(t, dir, "lcp::defaults; lcp::save_env")
	got, err := localenv.ReadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, "22379", got["ETCD_PORT"])
	assert.Equal(t, "embedded", got["TENANCY_ETCD_MODE"])
	assert.Equal(t, filepath.Join(dir, "kubeconfig"), got["KUBECONFIG_ADMIN"])
	assert.Equal(t, filepath.Join(dir, "pki"), got["PKI_DIR"])
}
