package framework

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A script's "error: " lines, however its output is cut into writes, end up in its error.
func TestErrorLines(t *testing.T) {
	e := &errorLines{}
	for _, chunk := range []string{"18:00:01 starting etcd\nerr", "or: ports of the local control plane on 127.0.0.1: ",
		"KUBE_APISERVER_PORT 29643 is the TENANCY_PORT\n", "not an error: line\nerror: second\n", "error: no newline yet"} {
		n, err := fmt.Fprint(e, chunk)
		assert.NoError(t, err)
		assert.Equal(t, len(chunk), n)
	}
	assert.Equal(t, []string{"ports of the local control plane on 127.0.0.1: KUBE_APISERVER_PORT 29643 is the TENANCY_PORT", "second"}, e.lines)
}
