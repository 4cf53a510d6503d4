package templateinstance_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistrytest "k8s.io/apiserver/pkg/registry/generic/testing"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/templateinstance"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/registrytest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

func newStorage(t *testing.T) *templateinstance.REST {
	t.Helper()
	store, _, err := templateinstance.NewREST(scheme.Scheme, registrytest.Getter{Options: registrytest.RESTOptions(t, "templateinstances")})
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

// The requester annotation records who created an instance; nobody else writes it, through
// the resource or its status.
func TestRequesterRecorded(t *testing.T) {
	store, statusStore, err := templateinstance.NewREST(scheme.Scheme, registrytest.Getter{Options: registrytest.RESTOptions(t, "templateinstances")})
	require.NoError(t, err)
	t.Cleanup(store.Store.DestroyFunc)
	tenant := &user.DefaultInfo{Name: "dev", UID: "42", Groups: []string{"team", "system:authenticated"}, Extra: map[string][]string{"scopes": {"a"}}}
	ctx := genericapirequest.WithUser(genericregistrytest.NewNamespaceScopeContext(store.Store, metav1.NamespaceDefault), tenant)
	const forbidden = "metadata.annotations[" + configv1alpha1.RequesterAnnotation + "]: Forbidden: set by the server to the user who creates the template instance or changes its spec"

	forged := validInstance()
	forged.Name = "forged"
	forged.Annotations = map[string]string{configv1alpha1.RequesterAnnotation: `{"username":"admin","groups":["system:masters"]}`}
	_, err = store.Create(ctx, forged, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err), "%v", err)
	assert.Contains(t, err.Error(), forbidden)

	obj, err := store.Create(ctx, validInstance(), rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	require.NoError(t, err)
	created := obj.(*config.TemplateInstance)
	var got authenticationv1.UserInfo
	require.NoError(t, json.Unmarshal([]byte(created.Annotations[configv1alpha1.RequesterAnnotation]), &got))
	assert.Equal(t, authenticationv1.UserInfo{Username: "dev", UID: "42", Groups: []string{"team", "system:authenticated"},
		Extra: map[string]authenticationv1.ExtraValue{"scopes": {"a"}}}, got)

	// Giving one's own value at create is giving nothing.
	own := validInstance()
	own.Name = "own"
	own.Annotations = map[string]string{configv1alpha1.RequesterAnnotation: created.Annotations[configv1alpha1.RequesterAnnotation]}
	_, err = store.Create(ctx, own, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	require.NoError(t, err)

	update := func(s rest.Updater, change func(ti *config.TemplateInstance)) (*config.TemplateInstance, error) {
		obj, _, err := s.Update(ctx, created.Name, rest.DefaultUpdatedObjectInfo(nil, func(_ context.Context, _, old runtime.Object) (runtime.Object, error) {
			ti := old.(*config.TemplateInstance).DeepCopy()
			change(ti)
			return ti, nil
		}), rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
		if err != nil {
			return nil, err
		}
		return obj.(*config.TemplateInstance), nil
	}
	recorded := created.Annotations[configv1alpha1.RequesterAnnotation]
	for name, s := range map[string]rest.Updater{"resource": store, "status": statusStore} {
		got, err := update(s, func(ti *config.TemplateInstance) {
			ti.Annotations[configv1alpha1.RequesterAnnotation] = `{"username":"admin"}`
		})
		if name == "status" {
			// A write of /status changes no metadata: the forged value is dropped.
			require.NoError(t, err, name)
			assert.Equal(t, recorded, got.Annotations[configv1alpha1.RequesterAnnotation], name)
		} else {
			require.Error(t, err, name)
			assert.Contains(t, err.Error(), forbidden, name)
		}
		// An update that leaves it out, as kubectl replace of an old manifest does, keeps it.
		kept, err := update(s, func(ti *config.TemplateInstance) { delete(ti.Annotations, configv1alpha1.RequesterAnnotation) })
		require.NoError(t, err, name)
		assert.Equal(t, recorded, kept.Annotations[configv1alpha1.RequesterAnnotation], name)
	}

	// Whoever changes the spec is the requester from then on; other writes keep it.
	other := genericapirequest.WithUser(genericregistrytest.NewNamespaceScopeContext(store.Store, metav1.NamespaceDefault), &user.DefaultInfo{Name: "ops"})
	updateAs := func(ctx context.Context, s rest.Updater, change func(ti *config.TemplateInstance)) *config.TemplateInstance {
		obj, _, err := s.Update(ctx, created.Name, rest.DefaultUpdatedObjectInfo(nil, func(_ context.Context, _, old runtime.Object) (runtime.Object, error) {
			ti := old.(*config.TemplateInstance).DeepCopy()
			change(ti)
			return ti, nil
		}), rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
		require.NoError(t, err)
		return obj.(*config.TemplateInstance)
	}
	labelled := updateAs(other, store, func(ti *config.TemplateInstance) { ti.Labels["team"] = "ops" })
	assert.Equal(t, recorded, labelled.Annotations[configv1alpha1.RequesterAnnotation], "a metadata change keeps the requester")
	statusWritten := updateAs(other, statusStore, func(ti *config.TemplateInstance) { ti.Status.Reason = "Written" })
	assert.Equal(t, recorded, statusWritten.Annotations[configv1alpha1.RequesterAnnotation], "a status write keeps the requester")
	synced := updateAs(other, store, func(ti *config.TemplateInstance) { ti.Spec.Sync = true })
	assert.JSONEq(t, `{"username":"ops"}`, synced.Annotations[configv1alpha1.RequesterAnnotation], "a spec change records its author")

	// Without a user nothing is recorded, and nothing may be given.
	anonymous := genericregistrytest.NewNamespaceScopeContext(store.Store, metav1.NamespaceDefault)
	_, err = store.Create(anonymous, forged, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	assert.Contains(t, err.Error(), forbidden)
}
