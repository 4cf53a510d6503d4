package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
)

func userSubjects(names ...string) []rbacv1.Subject {
	subjects := make([]rbacv1.Subject, 0, len(names))
	for _, n := range names {
		subjects = append(subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: n})
	}
	return subjects
}

// createAccount creates an Account through the in-process server as the admin.
func (c *coreAPI) createAccount(t *testing.T, ctx context.Context, a *configv1alpha1.Account) {
	t.Helper()
	_, err := c.tenancyAs(t, "").ConfigV1alpha1().Accounts().Create(ctx, a, metav1.CreateOptions{})
	require.NoError(t, err)
}

// seesAccount waits until user (the admin when empty) sees account in their Account view:
// the server's access index has it, so its Space admission knows the Account too.
func (c *coreAPI) seesAccount(t *testing.T, ctx context.Context, user, account string) {
	t.Helper()
	accounts := c.tenancyAs(t, user).TenancyV1alpha1().Accounts()
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		_, err := accounts.Get(ctx, account, metav1.GetOptions{})
		assert.NoError(ct, err)
	}, within, 50*time.Millisecond, "%q sees Account %s", user, account)
}

func newSpace(name, account string) *tenancyv1alpha1.Space {
	return &tenancyv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenancyv1alpha1.SpaceSpec{Account: account}}
}

// A tenant creates a Space of their Account through the SpaceAccount and SpaceLimit
// admission plugins: kube-apiserver gets the namespace and the Account's RoleBinding in it,
// a second Space over the limit and a Space of another Account are refused, and the Account
// controller follows a change of the Account's subjects into the RoleBinding.
func TestTenantSpaceCreateMakesNamespaceAndBinding(t *testing.T) {
	c := coreFor(t)
	ctx := ctxFor(t)
	c.createAccount(t, ctx, &configv1alpha1.Account{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a"},
		Spec: configv1alpha1.AccountSpec{
			Subjects: userSubjects("carol"),
			Space:    configv1alpha1.AccountSpace{Limit: ptr.To[int32](1)},
		},
	})
	c.createAccount(t, ctx, &configv1alpha1.Account{
		ObjectMeta: metav1.ObjectMeta{Name: "team-other"},
		Spec:       configv1alpha1.AccountSpec{Subjects: userSubjects("someone-else")},
	})
	_, err := c.Kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "carol-kiosk-edit"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kiosk-edit"},
		Subjects:   userSubjects("carol"),
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	carol := c.tenancyAs(t, "carol").TenancyV1alpha1().Spaces()

	c.seesAccount(t, ctx, "carol", "team-a")
	mine, err := c.tenancyAs(t, "carol").TenancyV1alpha1().Accounts().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, mine.Items, 1, "carol's Account view holds only the Account she is a subject of")
	assert.Equal(t, "team-a", mine.Items[0].Name)
	_, err = carol.Create(ctx, newSpace("team-a-one", "team-a"), metav1.CreateOptions{})
	require.NoError(t, err, "carol creates a Space of team-a")

	ns, err := c.Kube.CoreV1().Namespaces().Get(ctx, "team-a-one", metav1.GetOptions{})
	require.NoError(t, err, "the Space's namespace in kube-apiserver")
	assert.Equal(t, "team-a", ns.Labels[accountLabel])
	binding, err := c.Kube.RbacV1().RoleBindings("team-a-one").Get(ctx, "kiosk-account-team-a", metav1.GetOptions{})
	require.NoError(t, err, "the Account's RoleBinding in the Space")
	assert.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"}, binding.RoleRef)
	assert.Equal(t, userSubjects("carol"), binding.Subjects)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		names, err := spaceNames(ctx, c.tenancyAs(t, "carol"))
		if assert.NoError(ct, err) {
			assert.Equal(ct, []string{"team-a-one"}, names)
		}
	}, within, 50*time.Millisecond, "carol sees her Space through the Account's RoleBinding")

	_, err = carol.Create(ctx, newSpace("team-a-two", "team-a"), metav1.CreateOptions{})
	require.Error(t, err, "a second Space over the limit of 1")
	assert.True(t, apierrors.IsForbidden(err), "refused as Forbidden: %v", err)
	_, err = c.Kube.CoreV1().Namespaces().Get(ctx, "team-a-two", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no namespace for the refused Space: %v", err)

	_, err = carol.Create(ctx, newSpace("team-a-other", "team-other"), metav1.CreateOptions{})
	require.Error(t, err, "a Space of an Account carol is not a subject of")
	assert.Contains(t, err.Error(), `cannot create spaces for account "team-other": not a subject of the account`)

	accounts := c.tenancyAs(t, "").ConfigV1alpha1().Accounts()
	a, err := accounts.Get(ctx, "team-a", metav1.GetOptions{})
	require.NoError(t, err)
	a.Spec.Subjects = userSubjects("carol", "dave")
	_, err = accounts.Update(ctx, a, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		b, err := c.Kube.RbacV1().RoleBindings("team-a-one").Get(ctx, "kiosk-account-team-a", metav1.GetOptions{})
		if assert.NoError(ct, err) {
			assert.Equal(ct, userSubjects("carol", "dave"), b.Subjects)
		}
	}, within, 50*time.Millisecond, "the Account controller adds dave to the RoleBinding")
}

// A Space of an Account with a mandatory Template gets its TemplateInstance, and the
// TemplateInstance controller applies the Template's objects into the namespace in
// kube-apiserver.
func TestMandatoryTemplateInstanceIsApplied(t *testing.T) {
	c := coreFor(t)
	ctx := ctxFor(t)
	admin := c.tenancyAs(t, "")
	_, err := admin.ConfigV1alpha1().Templates().Create(ctx, &configv1alpha1.Template{
		ObjectMeta: metav1.ObjectMeta{Name: "limits"},
		Resources: configv1alpha1.TemplateResources{Manifests: []runtime.RawExtension{{Raw: []byte(`{
			"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "container-limits"},
			"spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}}`)}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	c.createAccount(t, ctx, &configv1alpha1.Account{
		ObjectMeta: metav1.ObjectMeta{Name: "team-b"},
		Spec: configv1alpha1.AccountSpec{
			Subjects: userSubjects("erin"),
			Space: configv1alpha1.AccountSpace{TemplateInstances: []configv1alpha1.AccountTemplateInstanceTemplate{
				{Spec: configv1alpha1.TemplateInstanceSpec{Template: "limits"}},
			}},
		},
	})
	c.seesAccount(t, ctx, "", "team-b")
	_, err = admin.TenancyV1alpha1().Spaces().Create(ctx, newSpace("team-b-one", "team-b"), metav1.CreateOptions{})
	require.NoError(t, err, "the admin creates a Space of team-b")

	instances, err := admin.ConfigV1alpha1().TemplateInstances("team-b-one").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, instances.Items, 1, "the mandatory TemplateInstance")
	assert.Equal(t, "limits", instances.Items[0].Spec.Template)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		ti, err := admin.ConfigV1alpha1().TemplateInstances("team-b-one").Get(ctx, instances.Items[0].Name, metav1.GetOptions{})
		if assert.NoError(ct, err) {
			assert.Equal(ct, configv1alpha1.TemplateInstanceStatusDeployed, ti.Status.Status, "%s: %s", ti.Status.Reason, ti.Status.Message)
		}
	}, within, 50*time.Millisecond, "the TemplateInstance is deployed")
	lr, err := c.Kube.CoreV1().LimitRanges("team-b-one").Get(ctx, "container-limits", metav1.GetOptions{})
	require.NoError(t, err, "the Template's LimitRange in kube-apiserver")
	require.Len(t, lr.Spec.Limits, 1)
	assert.Equal(t, corev1.LimitTypeContainer, lr.Spec.Limits[0].Type)
	assert.True(t, lr.Spec.Limits[0].Default.Cpu().Equal(resource.MustParse("500m")))
}
