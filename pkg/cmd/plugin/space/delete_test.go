package space

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Without a terminal there is nobody to confirm: a pipe or any other reader is refused, and
// nothing is asked, whatever it holds.
func TestConfirmNeedsATerminal(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	_, err = w.WriteString("y\n")
	require.NoError(t, err)
	require.NoError(t, w.Close())
	for name, in := range map[string]interface{ Read([]byte) (int, error) }{
		"pipe":   r,
		"reader": strings.NewReader("yes\n"),
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			ok, err := confirm(in, &out, "Delete? [y/N]: ")
			assert.False(t, ok)
			assert.EqualError(t, err, "refusing to delete without confirmation: standard input is not a terminal; pass --yes to delete")
			assert.Empty(t, out.String())
		})
	}
}
