package plugin

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned/scheme"
)

// Output formats that print the server's Table rather than the objects.
const (
	formatDefault = ""
	formatTable   = "table"
	formatWide    = "wide"
)

// OutputFlags are kubectl get's output flags: -o (the server's table by default, "table" for
// the same explicitly, wide, json, yaml, name, jsonpath, go-template, ...), --no-headers and
// --show-managed-fields.
type OutputFlags struct {
	Print     *genericclioptions.PrintFlags
	NoHeaders bool
}

// NewOutputFlags are OutputFlags for the objects of the generated clientset's scheme.
func NewOutputFlags() *OutputFlags {
	return &OutputFlags{Print: genericclioptions.NewPrintFlags("").WithTypeSetter(scheme.Scheme)}
}

// AddFlags adds the output flags to cmd.
func (o *OutputFlags) AddFlags(cmd *cobra.Command) {
	o.Print.AddFlags(cmd)
	cmd.Flag("output").Usage = "Output format. One of: (table, wide, json, yaml, name, jsonpath, go-template, ...). Default: table."
	cmd.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "When printing a table, don't print headers.")
}

// IsTable reports whether the output is the server's Table: the default, table or wide.
func (o *OutputFlags) IsTable() bool {
	switch *o.Print.OutputFormat {
	case formatDefault, formatTable, formatWide:
		return true
	}
	return false
}

// Validate checks the output format.
func (o *OutputFlags) Validate() error {
	if o.IsTable() {
		return nil
	}
	_, err := o.Print.ToPrinter()
	return err
}

// PrintTable prints t as kubectl get prints a Table, with the columns of priority 1 too when the
// output is wide. A Table without rows prints "No resources found" to errOut, as kubectl does.
func (o *OutputFlags) PrintTable(t *metav1.Table, out, errOut io.Writer) error {
	if len(t.Rows) == 0 {
		fmt.Fprintln(errOut, "No resources found")
		return nil
	}
	p := printers.NewTablePrinter(printers.PrintOptions{
		NoHeaders: o.NoHeaders,
		Wide:      *o.Print.OutputFormat == formatWide,
	})
	return p.PrintObj(t, out)
}

// PrintObject prints obj, an object or a list of the generated clientset's scheme, with the
// output format. A list prints as kubectl get prints what it got: a v1 List of the items,
// each with its apiVersion and kind.
func (o *OutputFlags) PrintObject(obj runtime.Object, out io.Writer) error {
	p, err := o.Print.ToPrinter()
	if err != nil {
		return err
	}
	if meta.IsListType(obj) {
		if obj, err = asList(obj); err != nil {
			return err
		}
	}
	return p.PrintObj(obj, out)
}

// asList is list as a v1 List of unstructured items that carry their apiVersion and kind.
func asList(list runtime.Object) (*unstructured.UnstructuredList, error) {
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := &unstructured.UnstructuredList{Object: map[string]interface{}{
		"apiVersion": "v1",
		"kind":       "List",
		"metadata":   map[string]interface{}{"resourceVersion": ""},
	}}
	for _, item := range items {
		gvks, _, err := scheme.Scheme.ObjectKinds(item)
		if err != nil {
			return nil, err
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(item)
		if err != nil {
			return nil, fmt.Errorf("converting %T: %w", item, err)
		}
		obj := unstructured.Unstructured{Object: u}
		obj.SetGroupVersionKind(gvks[0])
		out.Items = append(out.Items, obj)
	}
	return out, nil
}

// DecodeTable decodes the body of a response to a request for a Table.
func DecodeTable(body []byte) (*metav1.Table, error) {
	t := &metav1.Table{}
	if err := json.Unmarshal(body, t); err != nil {
		return nil, fmt.Errorf("decoding the server's Table: %w", err)
	}
	if t.Kind != "Table" {
		return nil, fmt.Errorf("the server answered a %q where a Table was asked for", t.Kind)
	}
	return t, nil
}
