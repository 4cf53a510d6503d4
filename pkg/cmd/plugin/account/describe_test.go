package account

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
)

func account() *tenancyv1alpha1.Account {
	limit, role := int32(3), "kiosk-space-admin"
	return &tenancyv1alpha1.Account{
		ObjectMeta: metav1.ObjectMeta{Name: "node-account"},
		Spec: configv1alpha1.AccountSpec{
			Subjects: []rbacv1.Subject{
				{Kind: rbacv1.UserKind, Name: "dev"},
				{Kind: rbacv1.GroupKind, Name: "node-team"},
				{Kind: rbacv1.ServiceAccountKind, Name: "ci", Namespace: "tools"},
			},
			Space: configv1alpha1.AccountSpace{
				Limit:       &limit,
				ClusterRole: &role,
				TemplateInstances: []configv1alpha1.AccountTemplateInstanceTemplate{
					{Spec: configv1alpha1.TemplateInstanceSpec{Template: "space-template"}},
				},
			},
		},
		Status: configv1alpha1.AccountStatus{Namespaces: []configv1alpha1.AccountNamespaceStatus{{Name: "web"}, {Name: "db"}}},
	}
}

func TestDescribe(t *testing.T) {
	quota := configv1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "default-user-limits"},
		Spec: configv1alpha1.AccountQuotaSpec{Account: "node-account", Quota: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			corev1.ResourcePods:           resource.MustParse("2"),
			corev1.ResourceLimitsCPU:      resource.MustParse("4"),
			corev1.ResourceRequestsMemory: resource.MustParse("1Gi"),
		}}},
		Status: configv1alpha1.AccountQuotaStatus{Total: corev1.ResourceQuotaStatus{Used: corev1.ResourceList{
			corev1.ResourcePods:      resource.MustParse("1"),
			corev1.ResourceLimitsCPU: resource.MustParse("2"),
		}}},
	}
	var out bytes.Buffer
	require.NoError(t, View{Account: account(), Quotas: []configv1alpha1.AccountQuota{quota}}.Describe(&out))
	assert.Equal(t, `Name:                  node-account
Users:                 User dev
                       Group node-team
                       ServiceAccount tools/ci
Spaces:                2 of 3
                       web
                       db
Space ClusterRole:     kiosk-space-admin
Mandatory templates:   space-template
AccountQuotas:
  default-user-limits:
    Resource          Used   Hard
    --------          ----   ----
    limits.cpu        2      4
    pods              1      2
    requests.memory   0      1Gi
`, out.String())
}

// A caller who may not list AccountQuotas sees the Account and why its quotas are not shown;
// an Account without a limit, ClusterRole or templates says so.
func TestDescribeWithoutQuotas(t *testing.T) {
	a := account()
	a.Spec.Space = configv1alpha1.AccountSpace{}
	a.Status.Namespaces = nil
	var out bytes.Buffer
	require.NoError(t, View{Account: a, QuotasHidden: `Error from server (Forbidden): accountquotas.config.kiosk.sh is forbidden`}.Describe(&out))
	assert.Contains(t, out.String(), "Spaces:                0 (no limit)\n")
	assert.Contains(t, out.String(), "Space ClusterRole:     admin\n")
	assert.Contains(t, out.String(), "Mandatory templates:   <none>\n")
	assert.Contains(t, out.String(), "AccountQuotas:         not shown, you may not list them: Error from server (Forbidden): accountquotas.config.kiosk.sh is forbidden\n")

	empty := ""
	a.Spec.Space.ClusterRole = &empty
	out.Reset()
	require.NoError(t, View{Account: a}.Describe(&out))
	assert.Contains(t, out.String(), "Space ClusterRole:     <none>\n")
	assert.Contains(t, out.String(), "AccountQuotas:         <none>\n")
}
