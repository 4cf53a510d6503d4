package plugin

import (
	"errors"
	"fmt"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestErrorMessage(t *testing.T) {
	spaces := schema.GroupResource{Group: "tenancy.kiosk.sh", Resource: "spaces"}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"not found", apierrors.NewNotFound(spaces, "web"), `Error from server (NotFound): spaces.tenancy.kiosk.sh "web" not found`},
		{"forbidden, wrapped", fmt.Errorf("creating: %w", apierrors.NewForbidden(spaces, "web", errors.New("space limit of 2 reached for account a"))),
			`Error from server (Forbidden): creating: spaces.tenancy.kiosk.sh "web" is forbidden: space limit of 2 reached for account a`},
		{"unauthorized", apierrors.NewUnauthorized("token expired"), "error: You must be logged in to the server (token expired)"},
		{"client side", errors.New("context \"x\" is not in the kubeconfig"), `error: context "x" is not in the kubeconfig`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, ErrorMessage(tc.err))
		})
	}
}

func TestArgs(t *testing.T) {
	assert.Equal(t, []string{"list", "-o", "wide"}, Args([]string{"/usr/local/bin/kubectl-space", "list", "-o", "wide"}))
	assert.Equal(t, []string{"__complete", "use", ""}, Args([]string{"/home/u/.krew/bin/kubectl_complete-space", "use", ""}))
	assert.Empty(t, Args(nil))
}

func TestOneName(t *testing.T) {
	root := &cobra.Command{Use: "space", Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl space"}}
	use := &cobra.Command{Use: "use NAME", Args: OneName("Space"), RunE: func(*cobra.Command, []string) error { return nil }}
	root.AddCommand(use)
	assert.NoError(t, use.Args(use, []string{"web"}))
	assert.EqualError(t, use.Args(use, nil), "expected the name of one Space, got 0 arguments\n"+
		"Usage: kubectl space use NAME\nSee 'kubectl space use -h' for help and examples")
	assert.ErrorContains(t, use.Args(use, []string{"a", "b"}), "got 2 arguments")
}
