package space

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sleep sets the force annotation and wake removes it, leaving every other annotation of the
// Space as it is.
func TestForcePatch(t *testing.T) {
	on, err := forcePatch(true)
	require.NoError(t, err)
	assert.JSONEq(t, `{"metadata":{"annotations":{"sleepmode.loft.sh/force":"true"}}}`, string(on))
	off, err := forcePatch(false)
	require.NoError(t, err)
	assert.JSONEq(t, `{"metadata":{"annotations":{"sleepmode.loft.sh/force":null}}}`, string(off))
}
