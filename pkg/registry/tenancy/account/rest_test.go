package account

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access/accesstest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	configaccount "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/account"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/registrytest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy/tenancytest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

var (
	alice    = tenancytest.As("alice", "system:authenticated")
	bob      = tenancytest.As("bob", "team-b", "system:authenticated")
	eve      = tenancytest.As("eve", "system:authenticated")
	auditor  = tenancytest.As("auditor", "system:authenticated")
	root     = tenancytest.As("root", "system:authenticated")
	helpdesk = tenancytest.As("helpdesk", "system:authenticated")
)

// kube-apiserver lets auditor list config.kiosk.sh Accounts, helpdesk get them one by one,
// and root, bound to account-viewer cluster-wide, get and list them;
// admin may also write them.
var policy = tenancytest.Any(
	configAccounts("list", "auditor", "root"),
	configAccounts("get", "helpdesk", "root", "admin"),
	configAccounts("create", "admin"),
	configAccounts("delete", "admin"),
)

func configAccounts(verb string, users ...string) tenancytest.Policy {
	allow := tenancytest.Allow(verb, "accounts", users...)
	return func(a authorizer.Attributes) bool { return a.GetAPIGroup() == config.GroupName && allow(a) }
}

// newAccounts returns the Account view over config.kiosk.sh Accounts in an embedded etcd:
// team-a, whose subject is alice, team-b, whose subject is the group team-b, and team-c,
// whose subject is carol; the access index is fed what the storage holds.
func newAccounts(t *testing.T) *REST {
	t.Helper()
	store, _, err := configaccount.NewREST(scheme.Scheme, registrytest.Getter{Options: registrytest.RESTOptions(t, "accounts")})
	require.NoError(t, err)
	t.Cleanup(store.Store.DestroyFunc)
	x := access.New(access.Options{})
	var rv accesstest.Revisions
	x.UpsertClusterRole(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "account-viewer", ResourceVersion: rv.Next()},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{config.GroupName}, Resources: []string{"accounts"}}}})
	x.UpsertClusterRoleBinding(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "root", ResourceVersion: rv.Next()},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "account-viewer"}, Subjects: []rbacv1.Subject{accesstest.User("root")}})
	for _, a := range []struct {
		name, team string
		subject    rbacv1.Subject
	}{
		{"team-a", "a", accesstest.User("alice")},
		{"team-b", "b", accesstest.Group("team-b")},
		{"team-c", "c", accesstest.User("carol")},
	} {
		in := &config.Account{ObjectMeta: metav1.ObjectMeta{Name: a.name, Labels: map[string]string{"team": a.team}}}
		in.Spec.Subjects = []rbacv1.Subject{a.subject}
		out, err := store.Create(tenancytest.As("admin", "system:masters"), in, nil, &metav1.CreateOptions{})
		require.NoError(t, err, "creating Account %s", a.name)
		stored := out.(*config.Account)
		x.UpsertAccount(stored.Name, stored, stored.Spec.Subjects, stored.ResourceVersion)
	}
	x.MarkReady()
	return NewREST(x, store, scheme.Scheme, tenancytest.Visibility(fake.NewClientset(), x, policy))
}

// Users list the Accounts they are subjects of, or all of them when they may list
// Accounts, and get those and the Accounts they may get; any other is NotFound.
func TestReadsShowWhatTheUserMayGet(t *testing.T) {
	r := newAccounts(t)
	every := []string{"team-a", "team-b", "team-c"}
	for _, tc := range []struct {
		name           string
		ctx            context.Context
		listed, gotten []string
	}{
		{"user subject", alice, []string{"team-a"}, []string{"team-a"}},
		{"group subject", bob, []string{"team-b"}, []string{"team-b"}},
		{"subject of none", eve, nil, nil},
		{"may list Accounts", auditor, every, nil},
		{"bound cluster-wide", root, every, every},
		{"may get Accounts, not list them", helpdesk, nil, every},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := r.List(tc.ctx, &metainternalversion.ListOptions{})
			require.NoError(t, err)
			assert.Equal(t, tc.listed, accountNames(out.(*tenancy.AccountList).Items), "List")
			for _, name := range every {
				got, err := r.Get(tc.ctx, name, &metav1.GetOptions{})
				if !slices.Contains(tc.gotten, name) {
					assert.True(t, apierrors.IsNotFound(err), "Get %s: want NotFound, got %v", name, err)
					continue
				}
				require.NoError(t, err, "Get %s", name)
				a := got.(*tenancy.Account)
				assert.Equal(t, name, a.Name)
				assert.Len(t, a.Spec.Subjects, 1, "the spec is converted")
			}
		})
	}
	_, err := r.Get(root, "team-x", &metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "an Account that does not exist: %v", err)
	var status apierrors.APIStatus
	if assert.ErrorAs(t, err, &status) {
		assert.Equal(t, tenancy.GroupName, status.Status().Details.Group, "the error names the tenancy resource")
	}
	sel, err := labels.Parse("team in (a,b)")
	require.NoError(t, err)
	out, err := r.List(auditor, &metainternalversion.ListOptions{LabelSelector: sel})
	require.NoError(t, err)
	assert.Equal(t, []string{"team-a", "team-b"}, accountNames(out.(*tenancy.AccountList).Items), "a label selector narrows the list")
}

// Only those who may write config.kiosk.sh Accounts write them here, subjects included.
func TestWritesNeedConfigRights(t *testing.T) {
	admin := tenancytest.As("admin", "system:authenticated")
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		wantErr func(error) bool
	}{
		{"may write Accounts", admin, nil},
		{"subject of the Account", alice, apierrors.IsForbidden},
		{"may list Accounts", auditor, apierrors.IsForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newAccounts(t)
			in := &tenancy.Account{ObjectMeta: metav1.ObjectMeta{Name: "team-d"}}
			in.Spec.Subjects = []rbacv1.Subject{accesstest.User("alice")}
			_, err := r.Create(tc.ctx, in, nil, &metav1.CreateOptions{})
			_, _, delErr := r.Delete(tc.ctx, "team-a", nil, &metav1.DeleteOptions{})
			_, getErr := r.Get(admin, "team-a", &metav1.GetOptions{})
			if tc.wantErr != nil {
				assert.True(t, tc.wantErr(err), "Create: %v", err)
				assert.True(t, tc.wantErr(delErr), "Delete: %v", delErr)
				assert.NoError(t, getErr, "team-a is kept")
				return
			}
			require.NoError(t, err, "Create")
			require.NoError(t, delErr, "Delete")
			got, err := r.Get(admin, "team-d", &metav1.GetOptions{})
			require.NoError(t, err, "the created Account")
			assert.Equal(t, in.Spec.Subjects, got.(*tenancy.Account).Spec.Subjects)
			assert.True(t, apierrors.IsNotFound(getErr), "team-a is deleted: %v", getErr)
		})
	}
}

func accountNames(items []tenancy.Account) []string {
	var out []string
	for _, a := range items {
		out = append(out, a.Name)
	}
	return out
}
