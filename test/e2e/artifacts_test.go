package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// artifacts/deploy, applied the way a cluster admin applies it, is accepted by a real
// kube-apiserver: every object passes validation and admission (server-side dry run).
func TestDeployManifestsApply(t *testing.T) {
	dir := filepath.Join(cluster.Root, "artifacts", "deploy")
	out := cluster.Admin().Run(t, "apply", "--dry-run=server", "-f", dir).Success(t).Stdout
	for _, obj := range []string{
		"namespace/tenancy-system",
		"serviceaccount/tenancy-apiserver",
		"clusterrolebinding.rbac.authorization.k8s.io/tenancy-apiserver:system:auth-delegator",
		"rolebinding.rbac.authorization.k8s.io/tenancy-apiserver-auth-reader",
		"validatingadmissionpolicy.admissionregistration.k8s.io/tenancy-apiserver-namespaces",
		"validatingadmissionpolicybinding.admissionregistration.k8s.io/tenancy-apiserver-namespaces",
		"validatingadmissionpolicy.admissionregistration.k8s.io/tenancy-apiserver-protected",
		"validatingadmissionpolicybinding.admissionregistration.k8s.io/tenancy-apiserver-protected",
		"clusterrole.rbac.authorization.k8s.io/kiosk-edit",
		"clusterrole.rbac.authorization.k8s.io/kiosk-view",
		"clusterrolebinding.rbac.authorization.k8s.io/kiosk-view",
		"clusterrole.rbac.authorization.k8s.io/kiosk-space-admin",
		"clusterrole.rbac.authorization.k8s.io/kiosk-namespace-delete",
		"clusterrole.rbac.authorization.k8s.io/kiosk-template-instances-edit",
		"clusterrole.rbac.authorization.k8s.io/kiosk-template-instances-view",
		"service/tenancy-apiserver",
		"statefulset.apps/tenancy-apiserver",
		"poddisruptionbudget.policy/tenancy-apiserver",
		"apiservice.apiregistration.k8s.io/v1alpha1.config.kiosk.sh",
		"apiservice.apiregistration.k8s.io/v1alpha1.tenancy.kiosk.sh",
		"validatingwebhookconfiguration.admissionregistration.k8s.io/tenancy-apiserver-accountquota",
		"mutatingwebhookconfiguration.admissionregistration.k8s.io/tenancy-apiserver-pods",
	} {
		assert.Contains(t, out, obj+" ")
	}
	assert.NotContains(t, strings.ToLower(out), "error")
}

// The APIServices local-up registered verify the server's certificate and point to replica 0,
// and the tenancy group outranks the config group.
func TestLocalAPIServices(t *testing.T) {
	gvr := schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	client := cluster.AdminClients(t).Dynamic.Resource(gvr)
	priority := map[string]int64{}
	for _, group := range []string{"config.kiosk.sh", "tenancy.kiosk.sh"} {
		obj, err := client.Get(context.Background(), "v1alpha1."+group, metav1.GetOptions{})
		require.NoError(t, err)
		caBundle, _, err := unstructured.NestedString(obj.Object, "spec", "caBundle")
		require.NoError(t, err)
		assert.NotEmpty(t, caBundle, group)
		insecure, _, err := unstructured.NestedBool(obj.Object, "spec", "insecureSkipTLSVerify")
		require.NoError(t, err)
		assert.False(t, insecure, group)
		port, found, err := unstructured.NestedInt64(obj.Object, "spec", "service", "port")
		require.NoError(t, err)
		require.True(t, found, "%s: no spec.service.port", group)
		assert.Equal(t, cluster.Replica(0).URL, fmt.Sprintf("https://127.0.0.1:%d", port), group)
		priority[group], found, err = unstructured.NestedInt64(obj.Object, "spec", "groupPriorityMinimum")
		require.NoError(t, err)
		require.True(t, found, "%s: no spec.groupPriorityMinimum", group)
	}
	assert.Greater(t, priority["tenancy.kiosk.sh"], priority["config.kiosk.sh"])
}
