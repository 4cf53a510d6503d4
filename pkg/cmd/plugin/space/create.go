package space

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/klog/v2"

	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned/scheme"
)

type createOptions struct {
	f       *plugin.Factory
	account string
	print   *genericclioptions.PrintFlags
}

func newCreateCommand(f *plugin.Factory) *cobra.Command {
	o := &createOptions{f: f, print: genericclioptions.NewPrintFlags("created").WithTypeSetter(scheme.Scheme)}
	cmd := &cobra.Command{
		Use:   "create NAME [--account ACCOUNT]",
		Short: "Create a Space for one of your Accounts",
		Long: `Create a Space, and return once it is usable, as the API does: its namespace, the
RoleBinding of the Account's users and the Account's mandatory templates are in place.

Without --account the Space goes to your only Account; a user of several Accounts must choose
one. The server's refusals (Space limit reached, a mandatory template that failed, ...) are
printed as the server gave them.`,
		Example: "  kubectl space create web\n  kubectl space create web --account node-account",
		Args:    plugin.OneName("Space"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args[0])
		},
	}
	cmd.Flags().StringVar(&o.account, "account", "", "The Account that owns the new Space; by default your only Account.")
	_ = cmd.RegisterFlagCompletionFunc("account", plugin.CompleteFlagNames(f, plugin.ListAccounts))
	o.print.AddFlags(cmd)
	return cmd
}

func (o *createOptions) run(ctx context.Context, name string) error {
	p, err := o.print.ToPrinter()
	if err != nil {
		return err
	}
	account := o.account
	if account == "" {
		names, err := plugin.Names(ctx, o.f, plugin.ListAccounts)
		if err != nil {
			return err
		}
		if account, err = PickAccount(names); err != nil {
			var none *NoAccountError
			if errors.As(err, &none) {
				none.User = o.whoAmI(ctx)
			}
			return err
		}
	}
	c, err := o.f.Tenancy()
	if err != nil {
		return err
	}
	s, err := c.TenancyV1alpha1().Spaces().Create(ctx, &tenancyv1alpha1.Space{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       tenancyv1alpha1.SpaceSpec{Account: account},
	}, metav1.CreateOptions{FieldManager: "kubectl-space"})
	if err != nil {
		return err
	}
	return p.PrintObj(s, o.f.Streams.Out)
}

// whoAmI is the caller's user name as the server knows it, "" when it cannot be read.
func (o *createOptions) whoAmI(ctx context.Context) string {
	kube, err := o.f.Kube()
	if err != nil {
		return ""
	}
	r, err := kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		klog.V(2).InfoS("Reading the user name failed", "err", err)
		return ""
	}
	return r.Status.UserInfo.Username
}
