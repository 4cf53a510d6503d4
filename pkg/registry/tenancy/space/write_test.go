package space

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy/tenancytest"
)

// teamAAccount is team-a: alice is its subject, it may hold three Spaces, and its Spaces
// carry its spaceTemplate's labels and annotations.
func teamAAccount() *configv1alpha1.Account {
	limit := int32(3)
	a := &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: teamA}}
	a.Spec.Subjects = []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "alice"}}
	a.Spec.Space.Limit = &limit
	a.Spec.Space.SpaceTemplate.Labels = map[string]string{"team": "a", "env": "from-account"}
	a.Spec.Space.SpaceTemplate.Annotations = map[string]string{"owner": "team-a@example.com"}
	return a
}

func newSpace(name, account string, labels map[string]string) *tenancy.Space {
	s := &tenancy.Space{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	s.Spec.Account = account
	return s
}

// fail makes kube answer verb on resource with err.
func fail(verb, resource string, err error) func(*cluster) {
	return func(c *cluster) {
		c.kube.PrependReactor(verb, resource, func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, err })
	}
}

var refuse = func(context.Context, runtime.Object) error {
	return apierrors.NewForbidden(tenancy.Resource("spaces"), "team-a-new", errors.New(`User "eve" is not a subject of account team-a`))
}

// A Space is created as a namespace with the Account's label and spaceTemplate and the
// Account's RoleBinding, and is then visible to its creator. Whatever fails leaves no
// namespace behind and gives back the Space's place under the Account's limit.
func TestCreate(t *testing.T) {
	rbGroup := schema.GroupResource{Group: rbacv1.GroupName, Resource: "rolebindings"}
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		space    *tenancy.Space
		validate rest.ValidateObjectFunc
		dryRun   bool
		enforced bool
		setup    func(*cluster)
		// wantErr checks the error; nil wants none.
		wantErr  func(error) bool
		wantNS   bool
		released []string
	}{
		{name: "for an Account of the caller", ctx: alice, space: newSpace("team-a-new", teamA, map[string]string{"env": "dev", "app": "web"}),
			enforced: true, wantNS: true},
		{name: "dry run", ctx: alice, space: newSpace("team-a-new", teamA, nil), dryRun: true, enforced: true},
		{name: "refused by admission", ctx: eve, space: newSpace("team-a-new", teamA, nil), validate: refuse, enforced: true,
			wantErr: apierrors.IsForbidden},
		{name: "admission disabled", ctx: alice, space: newSpace("team-a-new", teamA, nil), wantErr: apierrors.IsInternalError},
		{name: "Account missing", ctx: alice, space: newSpace("team-a-new", "team-x", nil), enforced: true, wantErr: apierrors.IsNotFound},
		{name: "Account label set by hand", ctx: alice, space: newSpace("team-a-new", teamA, map[string]string{configv1alpha1.AccountLabel: teamB}),
			enforced: true, wantErr: apierrors.IsInvalid},
		{name: "namespace exists", ctx: alice, space: newSpace("team-a-dev", teamA, nil), enforced: true,
			wantErr: apierrors.IsAlreadyExists, wantNS: true, released: []string{"team-a/team-a-dev"}},
		{name: "RoleBinding fails", ctx: alice, space: newSpace("team-a-new", teamA, nil), enforced: true,
			setup:   fail("create", "rolebindings", apierrors.NewServiceUnavailable("etcd is down")),
			wantErr: apierrors.IsServiceUnavailable, released: []string{"team-a/team-a-new"}},
		{name: "mandatory TemplateInstance fails", ctx: alice, space: newSpace("team-a-new", teamA, nil), enforced: true,
			setup: func(c *cluster) {
				c.accounts[teamA].Spec.Space.TemplateInstances = []configv1alpha1.AccountTemplateInstanceTemplate{
					{Spec: configv1alpha1.TemplateInstanceSpec{Template: "space-defaults"}}}
				c.config.PrependReactor("create", "templateinstances", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewServiceUnavailable("etcd is down")
				})
			},
			wantErr: apierrors.IsServiceUnavailable, released: []string{"team-a/team-a-new"}},
		{name: "RoleBinding escalates", ctx: alice, space: newSpace("team-a-new", teamA, nil), enforced: true,
			setup:   fail("create", "rolebindings", apierrors.NewForbidden(rbGroup, accounts.BindingName(teamA), errors.New("attempting to grant RBAC permissions not currently held"))),
			wantErr: apierrors.IsForbidden, released: []string{"team-a/team-a-new"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, seesAllSpaces, teamAAccount())
			enforced := tc.enforced
			c.rest.writer.Enforced = func() bool { return enforced }
			if tc.setup != nil {
				tc.setup(c)
			}
			opts := &metav1.CreateOptions{}
			if tc.dryRun {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			out, err := c.rest.Create(tc.ctx, tc.space, tc.validate, opts)
			ns := c.namespace(t, tc.space.Name)
			assert.Equal(t, tc.released, c.released.places(), "places given back")
			if tc.wantErr != nil {
				require.Error(t, err)
				assert.True(t, tc.wantErr(err), "unexpected error: %v", err)
				assert.Equal(t, tc.wantNS, ns != nil, "namespace left: %v", ns)
				return
			}
			require.NoError(t, err)
			s := out.(*tenancy.Space)
			assert.Equal(t, teamA, s.Spec.Account)
			assert.Equal(t, "from-account", s.Labels["env"], "the Account's spaceTemplate wins")
			if !tc.wantNS {
				assert.Nil(t, ns, "a dry run makes no namespace")
				return
			}
			require.NotNil(t, ns, "namespace")
			assert.Equal(t, map[string]string{configv1alpha1.AccountLabel: teamA, "team": "a", "env": "from-account", "app": "web"}, ns.Labels)
			assert.Equal(t, "team-a@example.com", ns.Annotations["owner"])
			rb, err := c.kube.RbacV1().RoleBindings(ns.Name).Get(context.Background(), accounts.BindingName(teamA), metav1.GetOptions{})
			require.NoError(t, err, "the Account's RoleBinding")
			assert.Equal(t, "admin", rb.RoleRef.Name)
			assert.Equal(t, teamAAccount().Spec.Subjects, rb.Subjects)
			_, err = c.rest.Get(alice, ns.Name, &metav1.GetOptions{})
			assert.NoError(t, err, "the creator sees the Space once Create returns")
		})
	}
}

// A Space is deleted by those who may delete its namespace, and its place under the
// Account's limit is given back; those who cannot see it are told it does not exist.
func TestDelete(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		space    string
		wantErr  func(error) bool
		released []string
	}{
		{name: "may delete", ctx: alice, space: "team-a-dev", released: []string{"team-a/team-a-dev"}},
		{name: "sees but may not delete", ctx: bob, space: "team-b-dev", wantErr: apierrors.IsForbidden},
		{name: "does not see", ctx: eve, space: "team-a-dev", wantErr: apierrors.IsNotFound},
		{name: "does not exist", ctx: alice, space: "team-a-gone", wantErr: apierrors.IsNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, tenancytest.Allow("delete", "namespaces", "alice", "eve"))
			out, _, err := c.rest.Delete(tc.ctx, tc.space, nil, &metav1.DeleteOptions{})
			assert.Equal(t, tc.released, c.released.places(), "places given back")
			if tc.wantErr != nil {
				assert.True(t, tc.wantErr(err), "unexpected error: %v", err)
				if tc.space != "team-a-gone" {
					assert.NotNil(t, c.namespace(t, tc.space), "namespace kept")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, corev1.NamespaceTerminating, out.(*tenancy.Space).Status.Phase)
			assert.Nil(t, c.namespace(t, tc.space), "namespace deleted")
			_, err = c.rest.Get(tc.ctx, tc.space, &metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "Get after Delete: %v", err)
		})
	}
}

// Those who may update a Space's namespace change its labels; its Account stays.
func TestUpdateLabels(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		space   string
		wantErr func(error) bool
	}{
		{name: "may update", ctx: alice, space: "team-a-dev"},
		{name: "sees but may not update", ctx: bob, space: "team-b-dev", wantErr: apierrors.IsForbidden},
		{name: "does not see", ctx: eve, space: "team-a-dev", wantErr: apierrors.IsNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, tenancytest.Allow("update", "namespaces", "alice", "eve"))
			before := c.namespace(t, tc.space)
			relabel := rest.DefaultUpdatedObjectInfo(nil, func(_ context.Context, _, old runtime.Object) (runtime.Object, error) {
				s := old.(*tenancy.Space).DeepCopy()
				s.Labels = map[string]string{"env": "staging"}
				return s, nil
			})
			out, created, err := c.rest.Update(tc.ctx, tc.space, relabel, nil, nil, false, &metav1.UpdateOptions{})
			if tc.wantErr != nil {
				assert.True(t, tc.wantErr(err), "unexpected error: %v", err)
				assert.Equal(t, before.Labels, c.namespace(t, tc.space).Labels, "namespace unchanged")
				return
			}
			require.NoError(t, err)
			assert.False(t, created)
			assert.Equal(t, map[string]string{"env": "staging"}, out.(*tenancy.Space).Labels)
			assert.Equal(t, map[string]string{configv1alpha1.AccountLabel: teamA, "env": "staging"}, c.namespace(t, tc.space).Labels)
			got, err := c.rest.Get(tc.ctx, tc.space, &metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, "staging", got.(*tenancy.Space).Labels["env"], "the index has the update")
		})
	}
}
