package resource

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
)

// Store describes the etcd storage of one config.kiosk.sh resource.
type Store struct {
	// Plural and Singular are the resource's names.
	Plural, Singular string
	// New and NewList return empty objects.
	New, NewList func() runtime.Object
	// Table prints the resource for kubectl.
	Table rest.TableConvertor
}

// NewStore returns the generic registry store of a resource written with strategy s.
func NewStore[T Object](s Strategy[T], d Store, optsGetter generic.RESTOptionsGetter) (*genericregistry.Store, error) {
	store := &genericregistry.Store{
		NewFunc:                   d.New,
		NewListFunc:               d.NewList,
		PredicateFunc:             s.Matcher,
		DefaultQualifiedResource:  config.Resource(d.Plural),
		SingularQualifiedResource: config.Resource(d.Singular),
		CreateStrategy:            s,
		UpdateStrategy:            s,
		DeleteStrategy:            s,
		TableConvertor:            d.Table,
	}
	if s.kind.KeepStatus != nil {
		store.ResetFieldsStrategy = s
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: s.GetAttrs}); err != nil {
		return nil, fmt.Errorf("%s storage: %w", d.Plural, err)
	}
	return store, nil
}
