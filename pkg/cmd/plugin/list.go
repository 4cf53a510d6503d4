package plugin

import (
	"context"
	"io"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned/scheme"
)

// tableAccept asks for a meta.k8s.io/v1 Table, as kubectl get does.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

// PrintList prints a list of resource, a resource of tenancy.kiosk.sh, as kubectl get does: for
// a table output, the Table the server makes; for any other, the objects list returns.
func (o *OutputFlags) PrintList(ctx context.Context, c versioned.Interface, resource string, opts metav1.ListOptions,
	list ListFunc, out, errOut io.Writer) error {
	if !o.IsTable() {
		obj, err := list(ctx, c, opts)
		if err != nil {
			return err
		}
		return o.PrintObject(obj, out)
	}
	body, err := c.TenancyV1alpha1().RESTClient().Get().Resource(resource).VersionedParams(&opts, scheme.ParameterCodec).
		SetHeader("Accept", tableAccept).Do(ctx).Raw()
	if err != nil {
		return err
	}
	t, err := DecodeTable(body)
	if err != nil {
		return err
	}
	return o.PrintTable(t, out, errOut)
}

// NewListCommand is a "list" command: the objects of resource (of tenancy.kiosk.sh) that the
// caller sees, printed as kubectl get prints them; list gives them as typed objects.
func NewListCommand(f *Factory, resource, short, example string, list ListFunc) *cobra.Command {
	out := NewOutputFlags()
	var selector string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   short,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.Validate(); err != nil {
				return err
			}
			c, err := f.Tenancy()
			if err != nil {
				return err
			}
			return out.PrintList(cmd.Context(), c, resource, metav1.ListOptions{LabelSelector: selector},
				list, f.Streams.Out, f.Streams.ErrOut)
		},
	}
	out.AddFlags(cmd)
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "Label selector to filter on, as with kubectl get (e.g. -l team=web).")
	return cmd
}
