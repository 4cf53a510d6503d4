package account

import (
	"context"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned/scheme"
)

type showOptions struct {
	f     *plugin.Factory
	print *genericclioptions.PrintFlags
}

func newShowCommand(f *plugin.Factory) *cobra.Command {
	o := &showOptions{f: f, print: genericclioptions.NewPrintFlags("").WithTypeSetter(scheme.Scheme)}
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show an Account: its users, Space limit, Spaces, templates and AccountQuotas",
		Long: `Show an Account as you may see it: its users, its Space limit and the Spaces it owns,
the ClusterRole its users get in each Space, its mandatory templates, and the hard limits and
usage of its AccountQuotas (config.kiosk.sh). AccountQuotas are shown when you may list them;
when the server forbids it, the Account is shown without them and says so.

With -o json, yaml, name, jsonpath or go-template, the Account object is printed instead.`,
		Example:           "  kubectl account show node-account\n  kubectl account show node-account -o yaml",
		Args:              plugin.OneName("Account"),
		ValidArgsFunction: plugin.CompleteNames(f, plugin.ListAccounts),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args[0])
		},
	}
	o.print.AddFlags(cmd)
	return cmd
}

func (o *showOptions) run(ctx context.Context, name string) error {
	describe := *o.print.OutputFormat == ""
	var p printers.ResourcePrinter
	if !describe {
		var err error
		if p, err = o.print.ToPrinter(); err != nil {
			return err
		}
	}
	c, err := o.f.Tenancy()
	if err != nil {
		return err
	}
	a, err := c.TenancyV1alpha1().Accounts().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if !describe {
		return p.PrintObj(a, o.f.Streams.Out)
	}
	view := View{Account: a}
	quotas, err := c.ConfigV1alpha1().AccountQuotas().List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.account", name).String(),
	})
	switch {
	case err == nil:
		view.Quotas = quotas.Items
	case apierrors.IsForbidden(err) || apierrors.IsNotFound(err):
		view.QuotasHidden = plugin.ErrorMessage(err)
	default:
		return err
	}
	return view.Describe(o.f.Streams.Out)
}
