package space

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin"
)

type useOptions struct {
	f           *plugin.Factory
	contextName string
	user        string
	ca          string
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
(--kubeconfig, or KUBECONFIG, or ~/.kube/config).

A Space that a hub lists in a member cluster (its CLUSTER column) is used in that cluster:
--context-name is then required, and the new context talks to the member's kube-apiserver,
whose address the hub gives on the Space, with your own credentials for the member: the
kubeconfig's user entry --user (by default the user of the context copied, which fits when
one identity provider signs you in to every cluster). The hub's credentials are never used
or written. --certificate-authority is the member's CA file, when its serving certificate
is not signed by a CA the system trusts.`,
		Example: "  kubectl space use web\n  kubectl space use web --context-name web\n" +
			"  kubectl space use team-a-eu --context-name team-a-eu --user oidc --certificate-authority member-ca.crt",
		Args:              plugin.OneName("Space"),
		ValidArgsFunction: plugin.CompleteNames(f, plugin.ListSpaces),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args[0])
		},
	}
	cmd.Flags().StringVar(&o.contextName, "context-name", "", "Write a new context of this name for the Space, and make it the current context.")
	cmd.Flags().StringVar(&o.user, "user", "", "For a Space in a member cluster: the kubeconfig's user entry with your credentials for that cluster.")
	cmd.Flags().StringVar(&o.ca, "certificate-authority", "", "For a Space in a member cluster: the file of that cluster's CA.")
	return cmd
}

func (o *useOptions) run(ctx context.Context, name string) error {
	c, err := o.f.Tenancy()
	if err != nil {
		return err
	}
	space, err := c.TenancyV1alpha1().Spaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
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
	var use Use
	if space.Spec.Cluster == "" && (o.user != "" || o.ca != "") {
		return fmt.Errorf("Space %q is in the cluster of the current context: --user and --certificate-authority are for a Space in a member cluster", name)
	}
	if o.ca != "" {
		if o.ca, err = filepath.Abs(o.ca); err != nil {
			return err
		}
	}
	if space.Spec.Cluster != "" {
		use, err = UseMemberSpace(&raw, from, o.contextName, name, Member{Cluster: space.Spec.Cluster,
			Server: space.Annotations[configv1alpha1.ClusterServerAnnotation], CertificateAuthority: o.ca, User: o.user})
	} else {
		use, err = UseSpace(&raw, from, o.contextName, name)
	}
	if err != nil {
		return err
	}
	if err := clientcmd.ModifyConfig(loader.ConfigAccess(), raw, true); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	_, err = fmt.Fprintln(o.f.Streams.Out, use.String())
	return err
}
