package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// guardRailsQuotaTemplate is a Template of the guard rails an Account mandates: a
// ResourceQuota of PODS pods and a LimitRange.
const guardRailsQuotaTemplate = `apiVersion: config.kiosk.sh/v1alpha1
kind: Template
metadata:
  name: TEMPLATE
parameters:
- name: PODS
  value: "1"
  validation: "^[0-9]+$"
resources:
  manifests:
  - apiVersion: v1
    kind: ResourceQuota
    metadata:
      name: guard-quota
    spec:
      hard:
        pods: ${PODS}
  - apiVersion: v1
    kind: LimitRange
    metadata:
      name: guard-limits
    spec:
      limits:
      - default:
          cpu: 500m
        type: Container
`

// mandatoryGuardRails is a tenant's Space of an Account whose mandatory instance of a
// guard-rails Template sets a ResourceQuota of 3 pods.
type mandatoryGuardRails struct {
	account, tenant, space, instance string
}

// newMandatoryGuardRails makes the Template, the Account (whose Spaces bind clusterRole),
// and the tenant's Space, which is created with the guard rails in place.
func newMandatoryGuardRails(t *testing.T, prefix, clusterRole string) mandatoryGuardRails {
	t.Helper()
	g := mandatoryGuardRails{account: framework.UniqueName(prefix), tenant: framework.UniqueName(prefix + "-me")}
	g.space, g.instance = g.account+"-space", g.account+"-rails"
	admin := cluster.Admin()
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", "-l", "kiosk.sh/account="+g.account, "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", g.account, "--ignore-not-found").Deleted(t)
		admin.Run(t, "delete", "template", g.instance, "--ignore-not-found").Deleted(t)
	})
	admin.Apply(t, strings.ReplaceAll(guardRailsQuotaTemplate, "TEMPLATE", g.instance)).Success(t)
	admin.Apply(t, accountYAML(g.account, g.tenant, fmt.Sprintf(`    clusterRole: %s
    templateInstances:
    - spec:
        template: %s
        parameters:
        - name: PODS
          value: "3"
`, clusterRole, g.instance))).Success(t)
	grantKioskEdit(t, cluster.AdminClients(t), g.account, g.tenant)
	cluster.As(g.tenant).Apply(t, space(g.space, g.account)).Success(t)
	assert.Equal(t, "3", g.quotaPods(t), "the Space is created with its guard rails")
	return g
}

// quotaPods is the guard-rails ResourceQuota's hard pods, or "" when it does not exist.
func (g mandatoryGuardRails) quotaPods(t *testing.T) string {
	t.Helper()
	q, err := cluster.AdminClients(t).Kube.CoreV1().ResourceQuotas(g.space).Get(context.Background(), "guard-quota", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ""
	}
	require.NoError(t, err)
	return q.Spec.Hard.Pods().String()
}

// get is the mandatory instance, or nil when it does not exist.
func (g mandatoryGuardRails) get(ctx context.Context, t *testing.T) *configv1alpha1.TemplateInstance {
	ti, err := cluster.AdminClients(t).Kiosk.ConfigV1alpha1().TemplateInstances(g.space).Get(ctx, g.instance, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return ti
}

// A tenant cannot delete a mandatory TemplateInstance, which would delete the Space's
// ResourceQuota and LimitRange with it. One an admin deletes is created again at once, and
// its guard rails come back. The tenant still deletes the whole Space.
func TestHoleMandatoryInstanceDelete(t *testing.T) {
	t.Parallel()
	g := newMandatoryGuardRails(t, "hole-ti-delete", "kiosk-space-admin")
	admin, tenant := cluster.Admin(), cluster.As(g.tenant)

	r := tenant.Run(t, "delete", "templateinstance", g.instance, "-n", g.space, "--timeout=30s").Failure(t)
	assert.Contains(t, r.Stderr, fmt.Sprintf(`templateinstances.config.kiosk.sh %q is forbidden: mandatory template instance of account %q is deleted by the account only`,
		g.instance, g.account))
	assert.Equal(t, "3", g.quotaPods(t), "the ResourceQuota stays")
	admin.Run(t, "get", "limitrange", "guard-limits", "-n", g.space).Success(t)

	before := g.get(context.Background(), t)
	require.NotNil(t, before)
	admin.Run(t, "delete", "templateinstance", g.instance, "-n", g.space, "--timeout=30s").Success(t)
	var again types.UID
	eventually(t, "the mandatory instance is created again and deployed", func(ctx context.Context) bool {
		ti := g.get(ctx, t)
		if ti == nil || ti.UID == before.UID || ti.Status.Status != configv1alpha1.TemplateInstanceStatusDeployed {
			return false
		}
		again = ti.UID
		return true
	})
	assert.NotEqual(t, before.UID, again)
	eventually(t, "the ResourceQuota and LimitRange are back", func(context.Context) bool {
		return g.quotaPods(t) == "3" && admin.Run(t, "get", "limitrange", "guard-limits", "-n", g.space).Err == nil
	})

	// Deleting the Space deletes its mandatory instance with it, and does not hang.
	tenant.Run(t, "delete", "space", g.space, "--timeout=90s").Success(t)
	kube := cluster.AdminClients(t).Kube
	eventually(t, "the namespace is deleted", func(ctx context.Context) bool {
		_, err := kube.CoreV1().Namespaces().Get(ctx, g.space, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// A tenant cannot rewrite a mandatory TemplateInstance's parameters (to raise the quota it
// carries) or its sync; an admin's change is set back to the Account's parameters.
func TestHoleMandatoryInstanceParameters(t *testing.T) {
	t.Parallel()
	g := newMandatoryGuardRails(t, "hole-ti-params", "admin")
	admin, tenant := cluster.Admin(), cluster.As(g.tenant)
	forbidden := func(field string) string {
		return fmt.Sprintf(`templateinstances.config.kiosk.sh %q is forbidden: %s: mandatory template instance of account %q is set by the account only`,
			g.instance, field, g.account)
	}
	raise := `{"spec":{"parameters":[{"name":"PODS","value":"100"}]}}`

	r := tenant.Run(t, "patch", "templateinstance", g.instance, "-n", g.space, "--type=merge", "-p", raise).Failure(t)
	assert.Contains(t, r.Stderr, forbidden("spec.parameters"))
	r = tenant.Run(t, "patch", "templateinstance", g.instance, "-n", g.space, "--type=merge", "-p", `{"spec":{"sync":true}}`).Failure(t)
	assert.Contains(t, r.Stderr, forbidden("spec.sync"))
	r = tenant.Run(t, "annotate", "templateinstance", g.instance, "-n", g.space, configv1alpha1.MandatoryAnnotation+"-").Failure(t)
	assert.Contains(t, r.Stderr, forbidden("metadata.annotations["+configv1alpha1.MandatoryAnnotation+"]"))
	ti := g.get(context.Background(), t)
	require.NotNil(t, ti)
	assert.Equal(t, []configv1alpha1.TemplateInstanceParameter{{Name: "PODS", Value: "3"}}, ti.Spec.Parameters)
	assert.False(t, ti.Spec.Sync)
	assert.Equal(t, "3", g.quotaPods(t), "the ResourceQuota keeps the Account's value")

	// An admin's change is set back, and the objects are applied again with the Account's
	// parameters.
	admin.Run(t, "patch", "templateinstance", g.instance, "-n", g.space, "--type=merge", "-p", raise).Success(t)
	eventually(t, "the parameters are set back to the Account's", func(ctx context.Context) bool {
		ti := g.get(ctx, t)
		return ti != nil && len(ti.Spec.Parameters) == 1 && ti.Spec.Parameters[0].Value == "3" &&
			ti.Status.Status == configv1alpha1.TemplateInstanceStatusDeployed
	})
	assert.Equal(t, "3", g.quotaPods(t), "the ResourceQuota keeps the Account's value")
}
