// Package table builds the server-side Tables that kubectl prints for this server's resources.
package table

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// NameColumn is the Name column every table starts with.
var NameColumn = metav1.TableColumnDefinition{
	Name: "Name", Type: "string", Format: "name",
	Description: metav1.ObjectMeta{}.SwaggerDoc()["name"],
}

// AgeColumn is the Age column, the time since creation.
var AgeColumn = metav1.TableColumnDefinition{
	Name: "Age", Type: "string",
	Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"],
}

// Convertor turns single objects and lists into Tables with fixed columns.
type Convertor struct {
	columns []metav1.TableColumnDefinition
	cells   func(obj runtime.Object) ([]interface{}, error)
}

// New returns a Convertor whose rows are made by cells, one value per column.
func New(columns []metav1.TableColumnDefinition, cells func(obj runtime.Object) ([]interface{}, error)) *Convertor {
	return &Convertor{columns: columns, cells: cells}
}

// ConvertToTable implements rest.TableConvertor.
func (c *Convertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	t := &metav1.Table{}
	if opts, ok := tableOptions.(*metav1.TableOptions); !ok || opts == nil || !opts.NoHeaders {
		t.ColumnDefinitions = c.columns
	}
	addRow := func(o runtime.Object) error {
		cells, err := c.cells(o)
		if err != nil {
			return err
		}
		t.Rows = append(t.Rows, metav1.TableRow{Cells: cells, Object: runtime.RawExtension{Object: o}})
		return nil
	}
	if meta.IsListType(obj) {
		if err := meta.EachListItem(obj, addRow); err != nil {
			return nil, err
		}
		if l, err := meta.ListAccessor(obj); err == nil {
			t.ResourceVersion = l.GetResourceVersion()
			t.Continue = l.GetContinue()
			t.RemainingItemCount = l.GetRemainingItemCount()
		}
		return t, nil
	}
	if err := addRow(obj); err != nil {
		return nil, err
	}
	if m, err := meta.Accessor(obj); err == nil {
		t.ResourceVersion = m.GetResourceVersion()
	}
	return t, nil
}

// Age formats the time since a creation timestamp as kubectl does.
func Age(created metav1.Time) string {
	if created.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(created.Time))
}
