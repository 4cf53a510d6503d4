package plugin

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
)

// ListFunc lists the objects of one resource that the caller sees, with a typed client of the
// generated clientset.
type ListFunc func(ctx context.Context, c versioned.Interface, opts metav1.ListOptions) (runtime.Object, error)

// ListSpaces lists the Spaces the caller sees.
func ListSpaces(ctx context.Context, c versioned.Interface, opts metav1.ListOptions) (runtime.Object, error) {
	return c.TenancyV1alpha1().Spaces().List(ctx, opts)
}

// ListAccounts lists the Accounts the caller sees.
func ListAccounts(ctx context.Context, c versioned.Interface, opts metav1.ListOptions) (runtime.Object, error) {
	return c.TenancyV1alpha1().Accounts().List(ctx, opts)
}

// Names are the names of the objects list returns.
func Names(ctx context.Context, f *Factory, list ListFunc) ([]string, error) {
	c, err := f.Tenancy()
	if err != nil {
		return nil, err
	}
	l, err := list(ctx, c, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var names []string
	err = meta.EachListItem(l, func(obj runtime.Object) error {
		m, err := meta.Accessor(obj)
		if err != nil {
			return err
		}
		names = append(names, m.GetName())
		return nil
	})
	return names, err
}
