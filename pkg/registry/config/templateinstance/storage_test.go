package templateinstance_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistrytest "k8s.io/apiserver/pkg/registry/generic/testing"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apiserver"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/templateinstance"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/registrytest"
)

func newStorage(t *testing.T) *templateinstance.REST {
	t.Helper()
	store, _, err := templateinstance.NewREST(apiserver.Scheme, registrytest.Getter{Options: registrytest.RESTOptions(t, "templateinstances")})
	require.NoError(t, err)
	t.Cleanup(store.Store.DestroyFunc)
	return store
}

func tester(t *testing.T) *genericregistrytest.Tester {
	return genericregistrytest.New(t, newStorage(t).Store)
}

func validInstance() *config.TemplateInstance {
	return &config.TemplateInstance{
		ObjectMeta: metav1.ObjectMeta{Name: "limits", Labels: map[string]string{"app": "x"}},
		Spec:       config.TemplateInstanceSpec{Template: "space-template"},
	}
}

func TestCreate(t *testing.T) {
	invalid := validInstance()
	invalid.Spec.Template = ""
	tester(t).TestCreate(validInstance(), invalid)
}

func TestUpdate(t *testing.T) {
	tester(t).TestUpdate(validInstance(),
		func(obj runtime.Object) runtime.Object {
			ti := obj.(*config.TemplateInstance)
			ti.Spec.Sync = true
			return ti
		},
		func(obj runtime.Object) runtime.Object {
			ti := obj.(*config.TemplateInstance)
			ti.Spec.Template = "other"
			return ti
		})
}

func TestDelete(t *testing.T) { tester(t).TestDelete(validInstance()) }

func TestGet(t *testing.T) { tester(t).TestGet(validInstance()) }

func TestList(t *testing.T) { tester(t).TestList(validInstance()) }

func TestWatch(t *testing.T) {
	tester(t).TestWatch(validInstance(),
		[]labels.Set{{"app": "x"}}, []labels.Set{{"app": "y"}},
		[]fields.Set{{"metadata.name": "limits"}, {"spec.template": "space-template"}},
		[]fields.Set{{"metadata.name": "other"}, {"spec.template": "other"}})
}

func TestCreatedPending(t *testing.T) {
	store := newStorage(t)
	ctx := genericregistrytest.NewNamespaceScopeContext(store.Store, metav1.NamespaceDefault)
	in := validInstance()
	in.Status.Status = config.TemplateInstanceStatusDeployed
	obj, err := store.Create(ctx, in, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, config.TemplateInstanceStatusPending, obj.(*config.TemplateInstance).Status.Status)

	table, err := store.ConvertToTable(context.Background(), obj, nil)
	require.NoError(t, err)
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"Name", "Template", "Status", "Age", "Reason", "Sync"}, names)
	assert.Equal(t, []interface{}{"limits", "space-template", "Pending"}, table.Rows[0].Cells[:3])
}
