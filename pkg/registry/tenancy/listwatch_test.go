package tenancy

import (
	"encoding/base64"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
)

var spacesResource = schema.GroupResource{Group: "tenancy.kiosk.sh", Resource: "spaces"}

// pagingIndex holds the Spaces a, b, c and d, each of which the user "dev" may get through
// a RoleBinding named "dev" in it.
func pagingIndex(t *testing.T) (*access.Index, func(ns string)) {
	t.Helper()
	x := access.New(access.Options{})
	rv := 0
	next := func() string { rv++; return strconv.Itoa(rv) }
	x.UpsertClusterRole(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "view", ResourceVersion: next()},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"namespaces"}}}})
	for _, ns := range []string{"a", "b", "c", "d"} {
		x.UpsertSpace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, ResourceVersion: next()}})
		x.UpsertRoleBinding(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dev", ResourceVersion: next()},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "dev"}}})
	}
	x.MarkReady()
	// Publish one more change, so that the history reaches back to the first page.
	x.UpsertSpace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "z", ResourceVersion: next()}})
	revoke := func(ns string) { x.DeleteRoleBinding(ns, "dev", next()) }
	return x, revoke
}

var dev = access.Subject{User: "dev"}

func page(t *testing.T, x *access.Index, everything bool, limit int64, token string) (Page, error) {
	t.Helper()
	_, p, err := ListPage(x.Spaces(), dev, everything, &metainternalversion.ListOptions{Limit: limit, Continue: token},
		spacesResource, func(*corev1.Namespace) bool { return true })
	return p, err
}

func forge(rv uint64, after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"rv":` + strconv.FormatUint(rv, 10) + `,"after":"` + after + `"}`))
}

// A continued list shows the objects of its first page, but only those the caller may
// still see: a token kept across a revocation, or edited to start over, shows no more
// than a fresh list would.
func TestContinueIsFilteredByCurrentGrants(t *testing.T) {
	x, revoke := pagingIndex(t)
	first, err := page(t, x, false, 1, "")
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, first.Names)
	require.NotEmpty(t, first.ListMeta.Continue)
	rv, err := strconv.ParseUint(first.ListMeta.ResourceVersion, 10, 64)
	require.NoError(t, err)

	revoke("b")
	revoke("c")
	rest, err := page(t, x, false, 0, first.ListMeta.Continue)
	require.NoError(t, err)
	assert.Equal(t, []string{"d"}, rest.Names, "the next page after b and c were revoked")
	assert.Equal(t, first.ListMeta.ResourceVersion, rest.ListMeta.ResourceVersion, "every page is at the first page's revision")

	again, err := page(t, x, false, 0, forge(rv, ""))
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "d"}, again.Names, "a token edited to start over")

	all, err := page(t, x, true, 0, forge(rv, ""))
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c", "d", "z"}, all.Names, "a caller who sees everything now")
}

// Pages of a list that nothing changes under add up to the list.
func TestPagesAddUp(t *testing.T) {
	x, _ := pagingIndex(t)
	var names []string
	token := ""
	for {
		p, err := page(t, x, false, 3, token)
		require.NoError(t, err)
		names = append(names, p.Names...)
		if token = p.ListMeta.Continue; token == "" {
			break
		}
	}
	assert.Equal(t, []string{"a", "b", "c", "d"}, names)
}

func TestContinueTokenErrors(t *testing.T) {
	x, _ := pagingIndex(t)
	now := x.Spaces().Snapshot().Revision()
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name, token string
		gone        bool
		message     string
	}{
		{name: "not base64", token: "%%%", message: `invalid continue token for spaces.tenancy.kiosk.sh: illegal base64 data at input byte 0`},
		{name: "not JSON", token: b64("rv=1"), message: `invalid continue token for spaces.tenancy.kiosk.sh: invalid character 'r' looking for beginning of value`},
		{name: "a field this server never writes", token: b64(`{"rv":5,"after":"a","everything":true}`),
			message: `invalid continue token for spaces.tenancy.kiosk.sh: json: unknown field "everything"`},
		{name: "trailing data", token: b64(`{"rv":5,"after":"a"}{"rv":5}`),
			message: `invalid continue token for spaces.tenancy.kiosk.sh: trailing data after the token`},
		{name: "no revision", token: b64(`{"after":"a"}`),
			message: `invalid continue token for spaces.tenancy.kiosk.sh: no resourceVersion (rv)`},
		{name: "older than the history", token: forge(1, "a"), gone: true,
			message: `the continue token for spaces.tenancy.kiosk.sh is too old; list again without it`},
		{name: "ahead of the server", token: forge(now+10, "a"), gone: true,
			message: "the continue token for spaces.tenancy.kiosk.sh names resourceVersion " + strconv.FormatUint(now+10, 10) +
				", which this server has not reached (it is at " + strconv.FormatUint(now, 10) + "); list again without it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := page(t, x, true, 0, tc.token)
			require.Error(t, err)
			assert.Empty(t, p.Names)
			if tc.gone {
				assert.True(t, apierrors.IsResourceExpired(err), "410 Expired: %v", err)
			} else {
				assert.True(t, apierrors.IsBadRequest(err), "400 BadRequest: %v", err)
			}
			assert.Equal(t, tc.message, err.Error())
		})
	}
}
