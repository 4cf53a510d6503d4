package integration

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestServerStarts(t *testing.T) {
	s := startServer(t, t.TempDir())
	groups, err := s.Client.Discovery().ServerGroups()
	require.NoError(t, err)
	names := []string{}
	for _, g := range groups.Groups {
		names = append(names, g.Name)
	}
	require.Contains(t, names, "config.kiosk.sh")
}
