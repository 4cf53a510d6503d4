package space

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin"
)

type useOptions struct {
	f           *plugin.Factory
	contextName string
}

func newUseCommand(f *plugin.Factory) *cobra.Command {
	o := &useOptions{f: f}
	cmd := &cobra.Command{
		Use:   "use NAME [--context-name CONTEXT]",
		Short: "Point your kubeconfig at a Space",
		Long: `Make a Space the namespace of the current context (of --context's context when given),
as kubectl config set-context --current --namespace does, once the server says you may see it.

With --context-name, write a new context instead: a copy of that context with the Space as its
namespace, which becomes the current context. The kubeconfig written is the one kubectl reads
(--kubeconfig, or KUBECONFIG, or ~/.kube/config).`,
		Example:           "  kubectl space use web\n  kubectl space use web --context-name web",
		Args:              plugin.OneName("Space"),
		ValidArgsFunction: plugin.CompleteNames(f, plugin.ListSpaces),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args[0])
		},
	}
	cmd.Flags().StringVar(&o.contextName, "context-name", "", "Write a new context of this name for the Space, and make it the current context.")
	return cmd
}

func (o *useOptions) run(ctx context.Context, name string) error {
	c, err := o.f.Tenancy()
	if err != nil {
		return err
	}
	if _, err := c.TenancyV1alpha1().Spaces().Get(ctx, name, metav1.GetOptions{}); err != nil {
		return err
	}
	loader := o.f.ConfigFlags.ToRawKubeConfigLoader()
	raw, err := loader.RawConfig()
	if err != nil {
		return err
	}
	var from string
	if o.f.ConfigFlags.Context != nil {
		from = *o.f.ConfigFlags.Context
	}
	use, err := UseSpace(&raw, from, o.contextName, name)
	if err != nil {
		return err
	}
	if err := clientcmd.ModifyConfig(loader.ConfigAccess(), raw, true); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	_, err = fmt.Fprintln(o.f.Streams.Out, use.String())
	return err
}
