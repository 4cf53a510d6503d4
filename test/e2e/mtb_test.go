package e2e

// The Kubernetes multi-tenancy benchmarks at profile level 1 (kubectl-mtb, in
// kubernetes-retired/multi-tenancy, benchmarks/kubectl-mtb), performed against a Space of the
// secure preset (artifacts/examples/secure) as its tenant, the way each check defines itself:
// the same SelfSubjectAccessReviews, the same dry-run creates and deletes, and the same pass
// outcome. kubectl-mtb itself is not served by the Go module proxy, so each check is written
// here from its definition. docs/isolation.md lists the checks, what enforces each, and why
// PL1-CC-CPI-1 is not applicable.

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// The names the secure preset gives its objects.
const (
	secureAccount = "secure-account"
	secureGroup   = "secure-tenants"
	secureQuota   = "secure-quota"
	secureLimits  = "secure-limits"
)

// mtbVerbs are the verbs the benchmark's access checks ask about.
var mtbVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// mtbTenant is a tenant of the benchmark and their Space.
type mtbTenant struct {
	user, account, ns string
	kubectl           framework.Kubectl
	clients           framework.Clients
}

// mtbResource is an API resource found by discovery, as the benchmark enumerates them.
type mtbResource struct {
	gv    schema.GroupVersion
	name  string // with the subresource, as discovery names it: "pods/log"
	verbs []string
}

func (r mtbResource) String() string {
	if r.gv.Group == "" {
		return r.name
	}
	return r.name + "." + r.gv.Group
}

// TestMultiTenancyBenchmarkPL1 applies the secure preset as the admin, creates a Space as a
// member of its group, and runs every profile-level-1 check of the benchmark against it as
// that tenant. A second tenant, of a plain Account, is the "other tenant" of the checks that
// need one.
func TestMultiTenancyBenchmarkPL1(t *testing.T) {
	me := applySecurePreset(t)
	otherAccount, otherUser, otherNS := tenantSpace(t, "mtb-other", "")
	other := mtbTenant{user: otherUser, account: otherAccount, ns: otherNS,
		kubectl: cluster.As(otherUser), clients: cluster.ClientsAs(t, otherUser)}

	t.Run("PL1-CC-CPI-1", func(t *testing.T) { mtbBlockClusterResources(t, me, other) })
	t.Run("PL1-BC-CPI-2", func(t *testing.T) { mtbBlockMultitenantResources(t, me) })
	t.Run("PL1-BC-CPI-3", func(t *testing.T) {
		mtbPodRefused(t, me, func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"SETPCAP"}
		}, `unrestricted capabilities (container "write-pod" must set securityContext.capabilities.drop=["ALL"]; container "write-pod" must not include "SETPCAP" in securityContext.capabilities.add)`)
	})
	t.Run("PL1-BC-CPI-4", func(t *testing.T) {
		t.Run("runAsNonRoot-false", func(t *testing.T) {
			mtbPodRefused(t, me, func(p *corev1.Pod) {
				p.Spec.SecurityContext.RunAsNonRoot = ptr.To(false)
				p.Spec.Containers[0].SecurityContext.RunAsNonRoot = ptr.To(false)
			}, `runAsNonRoot != true (pod and container "write-pod" must not set securityContext.runAsNonRoot=false)`)
		})
		t.Run("runAsUser-0", func(t *testing.T) {
			mtbPodRefused(t, me, func(p *corev1.Pod) {
				p.Spec.SecurityContext.RunAsUser = ptr.To(int64(0))
			}, `runAsUser=0 (pod must not set runAsUser=0)`)
		})
	})
	t.Run("PL1-BC-CPI-5", func(t *testing.T) {
		mtbPodRefused(t, me, func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
			p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
		}, `privileged (container "write-pod" must not set securityContext.privileged=true)`)
	})
	t.Run("PL1-BC-CPI-6", func(t *testing.T) {
		mtbPodRefused(t, me, func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
		}, `allowPrivilegeEscalation != false (container "write-pod" must set securityContext.allowPrivilegeEscalation=false)`)
	})
	t.Run("PL1-CC-TI-1", func(t *testing.T) { mtbBlockQuotaChanges(t, me) })
	t.Run("PL1-CC-TI-2", func(t *testing.T) { mtbBlockOtherTenantResources(t, me, other) })
	// Two checks of the benchmark share this id: hostPath volumes and NodePort Services.
	t.Run("PL1-BC-HI-1", func(t *testing.T) {
		t.Run("host-path-volume", func(t *testing.T) {
			mtbPodRefused(t, me, func(p *corev1.Pod) {
				p.Spec.Volumes = []corev1.Volume{{Name: "volume1", VolumeSource: corev1.VolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/busybox"}}}}
				p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "volume1", MountPath: "/mnt/volume1"}}
			}, `restricted volume types (volume "volume1" uses restricted volume type "hostPath")`)
		})
		t.Run("nodeport-service", func(t *testing.T) { mtbBlockNodePorts(t, me) })
	})
	t.Run("PL1-BC-HI-3", func(t *testing.T) {
		t.Run("host-network", func(t *testing.T) {
			mtbPodRefused(t, me, func(p *corev1.Pod) {
				p.Spec.HostNetwork = true
				p.Spec.SecurityContext.RunAsNonRoot = ptr.To(false)
				p.Spec.Containers[0].SecurityContext.RunAsNonRoot = ptr.To(false)
			}, `host namespaces (hostNetwork=true)`)
		})
		t.Run("host-port", func(t *testing.T) {
			mtbPodRefused(t, me, func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{{HostPort: 8086, ContainerPort: 8086}}
			}, `hostPort (container "write-pod" uses hostPort 8086)`)
		})
	})
	t.Run("PL1-BC-HI-4", func(t *testing.T) {
		mtbPodRefused(t, me, func(p *corev1.Pod) { p.Spec.HostPID = true }, `host namespaces (hostPID=true)`)
	})
	t.Run("PL1-BC-HI-5", func(t *testing.T) {
		mtbPodRefused(t, me, func(p *corev1.Pod) { p.Spec.HostIPC = true }, `host namespaces (hostIPC=true)`)
	})
	t.Run("PL1-CC-FNS-1", func(t *testing.T) {
		mtbQuotaConfigured(t, me, "requests.cpu", "limits.cpu", "requests.memory", "limits.memory",
			"requests.ephemeral-storage", "limits.ephemeral-storage")
	})
	t.Run("PL1-CC-FNS-2", func(t *testing.T) {
		names := mtbQuotaConfigured(t, me, "pods", "services", "replicationcontrollers", "resourcequotas", "secrets",
			"configmaps", "persistentvolumeclaims", "services.nodeports", "services.loadbalancers")
		assert.Equal(t, "0", names["services.nodeports"])
		assert.Equal(t, "0", names["services.loadbalancers"])
	})
	t.Run("PL1-CC-DI-1", func(t *testing.T) { mtbAlwaysPullImages(t, me) })
}

// applySecurePreset applies artifacts/examples/secure as the admin, as docs/isolation.md
// says, and creates a Space of its Account as a new member of its group; everything goes
// when the test ends.
func applySecurePreset(t *testing.T) mtbTenant {
	t.Helper()
	dir := filepath.Join(cluster.Root, "artifacts", "examples", "secure")
	admin := cluster.Admin()
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", "-l", "kiosk.sh/account="+secureAccount, "--wait=false").Deleted(t)
		admin.Run(t, "delete", "-f", dir, "--ignore-not-found").Deleted(t)
	})
	out := admin.Run(t, "apply", "-f", dir).Success(t).Stdout
	for _, obj := range []string{
		"template.config.kiosk.sh/" + secureQuota,
		"template.config.kiosk.sh/" + secureLimits,
		"account.config.kiosk.sh/" + secureAccount,
		"accountquota.config.kiosk.sh/" + secureAccount,
		"clusterrolebinding.rbac.authorization.k8s.io/secure-tenants-kiosk-edit",
	} {
		assert.Contains(t, out, obj+" ")
	}

	user := framework.UniqueName("mtb-tenant")
	me := mtbTenant{user: user, account: secureAccount, ns: framework.UniqueName("mtb"),
		kubectl: cluster.As(user, secureGroup), clients: cluster.ClientsAs(t, user, secureGroup)}
	me.kubectl.Apply(t, space(me.ns, secureAccount)).Success(t)
	admin.Run(t, "get", "resourcequota", secureQuota, "-n", me.ns).Success(t)
	admin.Run(t, "get", "limitrange", secureLimits, "-n", me.ns).Success(t)
	assert.Equal(t, "restricted", admin.Run(t, "get", "namespace", me.ns, "-o",
		`jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}`).Success(t).Stdout)
	return me
}

// mtbDiscover lists, as the admin (the benchmark's cluster-admin kubeconfig), the preferred
// version of every resource kube-apiserver serves, namespaced or cluster-scoped.
func mtbDiscover(t *testing.T, namespaced bool) []mtbResource {
	t.Helper()
	lists, err := cluster.AdminClients(t).Kube.Discovery().ServerPreferredResources()
	require.NoError(t, err, "discovery")
	var out []mtbResource
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		require.NoError(t, err)
		for _, r := range list.APIResources {
			if len(r.Verbs) == 0 || r.Namespaced != namespaced {
				continue
			}
			out = append(out, mtbResource{gv: gv, name: r.Name, verbs: r.Verbs})
		}
	}
	require.NotEmpty(t, out)
	return out
}

// mtbAllowed is what the tenant's SelfSubjectAccessReviews allow among verbs on resources in
// namespace ("" for cluster scope), as "verb resource.group".
func mtbAllowed(t *testing.T, tenant mtbTenant, namespace string, resources []mtbResource, verbs []string) []string {
	t.Helper()
	var allowed []string
	for _, r := range resources {
		res, sub, _ := strings.Cut(r.name, "/")
		for _, verb := range verbs {
			if canI(t, tenant.clients.Kube, authorizationv1.ResourceAttributes{
				Namespace: namespace, Verb: verb, Group: r.gv.Group, Resource: res, Subresource: sub}) {
				allowed = append(allowed, verb+" "+r.String())
			}
		}
	}
	sort.Strings(allowed)
	return allowed
}

// canI asks kube-apiserver, with a SelfSubjectAccessReview as the benchmark does, whether the
// client's user may do attrs.
func canI(t *testing.T, kube kubernetes.Interface, attrs authorizationv1.ResourceAttributes) bool {
	t.Helper()
	review, err := kube.AuthorizationV1().SelfSubjectAccessReviews().Create(context.Background(),
		&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs}},
		metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	require.NoError(t, err)
	return review.Status.Allowed
}

// PL1-CC-CPI-1, block access to cluster resources: for every cluster-scoped resource and
// every verb, the tenant's SelfSubjectAccessReview must say no. Not applicable as it stands:
// Spaces and Accounts of tenancy.kiosk.sh are cluster-scoped, and listing them is the product
// (a tenant sees and creates their own Spaces). So this asserts the documented reason: the
// only cluster-scoped resources the tenant may touch are these two per-user views (and
// Kubernetes' own reviews of one's own access), and the views show only the tenant's own
// objects, never another tenant's, not even their existence.
func mtbBlockClusterResources(t *testing.T, me, other mtbTenant) {
	allowed := mtbAllowed(t, me, "", mtbDiscover(t, false), mtbVerbs)
	want := []string{
		// Kubernetes' system:basic-user: a user may ask what they themselves may do.
		"create selfsubjectaccessreviews.authorization.k8s.io",
		"create selfsubjectreviews.authentication.k8s.io",
		"create selfsubjectrulesreviews.authorization.k8s.io",
		// kiosk-view, bound to system:authenticated: the filtered views.
		"get accounts.tenancy.kiosk.sh", "list accounts.tenancy.kiosk.sh", "watch accounts.tenancy.kiosk.sh",
		"get spaces.tenancy.kiosk.sh", "list spaces.tenancy.kiosk.sh", "watch spaces.tenancy.kiosk.sh",
		// kiosk-edit, bound by the preset to the tenants' group: Space self-service.
		"create spaces.tenancy.kiosk.sh", "update spaces.tenancy.kiosk.sh", "patch spaces.tenancy.kiosk.sh",
		"delete spaces.tenancy.kiosk.sh",
	}
	sort.Strings(want)
	assert.Equal(t, want, allowed, "the only cluster-scoped access of the tenant")

	admin := cluster.Admin()
	spacesOf := func(k framework.Kubectl) []string {
		out := k.Run(t, "get", "spaces", "-o", `jsonpath={range .items[*]}{.metadata.name}={.spec.account}{"\n"}{end}`).Success(t).Stdout
		return lines(out)
	}
	mine := spacesOf(me.kubectl)
	assert.Contains(t, mine, me.ns+"="+secureAccount)
	for _, s := range mine {
		assert.True(t, strings.HasSuffix(s, "="+secureAccount), "the tenant lists a Space of another Account: %s", s)
	}
	assert.Contains(t, spacesOf(admin), other.ns+"="+other.account, "the admin sees the other tenant's Space")
	assert.Equal(t, "account.tenancy.kiosk.sh/"+secureAccount,
		strings.TrimSpace(me.kubectl.Run(t, "get", "accounts", "-o", "name").Success(t).Stdout))
	assert.Contains(t, admin.Run(t, "get", "accounts", "-o", "name").Success(t).Stdout, "account.tenancy.kiosk.sh/"+other.account)

	// Another tenant's objects do not exist for the tenant, whatever the verb.
	notFound := func(r framework.Result, what string) {
		assert.Contains(t, r.Failure(t).Stderr, fmt.Sprintf(`%q not found`, what))
	}
	notFound(me.kubectl.Run(t, "get", "space", other.ns), other.ns)
	notFound(me.kubectl.Run(t, "label", "space", other.ns, "taken=true"), other.ns)
	notFound(me.kubectl.Run(t, "delete", "space", other.ns), other.ns)
	notFound(me.kubectl.Run(t, "get", "account", other.account), other.account)
	assert.Contains(t, me.kubectl.Run(t, "get", "accounts.config.kiosk.sh").Failure(t).Stderr, "Forbidden")
}

// PL1-BC-CPI-2, block multitenant resources: every namespaced object in the tenant's Space
// that carries the label of what the cluster admin set up for multi-tenancy (here the
// server's kiosk.sh/account=<account>) must resist the tenant's dry-run delete. The
// benchmark lists them as the tenant, through every namespaced resource. The mandatory
// objects that carry no label (the ResourceQuota and the LimitRange) are tried by name too.
func mtbBlockMultitenantResources(t *testing.T, me mtbTenant) {
	ctx := context.Background()
	selector := "kiosk.sh/account=" + secureAccount
	var found []string
	for _, r := range mtbDiscover(t, true) {
		if strings.Contains(r.name, "/") || !slices.Contains(r.verbs, "list") {
			continue
		}
		client := me.clients.Dynamic.Resource(r.gv.WithResource(r.name)).Namespace(me.ns)
		list, err := client.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			continue // the tenant cannot list them: nothing to delete
		}
		for _, obj := range list.Items {
			found = append(found, r.String()+"/"+obj.GetName())
			err := client.Delete(ctx, obj.GetName(), metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
			assert.True(t, apierrors.IsForbidden(err), "the tenant can delete %s %s: %v", r, obj.GetName(), err)
		}
	}
	t.Logf("labelled %s: %v", selector, found)
	assert.Subset(t, found, []string{
		"rolebindings.rbac.authorization.k8s.io/kiosk-account-" + secureAccount,
		"templateinstances.config.kiosk.sh/" + secureQuota,
		"templateinstances.config.kiosk.sh/" + secureLimits,
	}, "the objects the server placed are found by their label")

	kube := me.clients.Kube.CoreV1()
	dryRun := metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}
	err := kube.ResourceQuotas(me.ns).Delete(ctx, secureQuota, dryRun)
	assert.True(t, apierrors.IsForbidden(err), "the tenant can delete the ResourceQuota: %v", err)
	err = kube.LimitRanges(me.ns).Delete(ctx, secureLimits, dryRun)
	assert.True(t, apierrors.IsForbidden(err), "the tenant can delete the LimitRange: %v", err)
}

// mtbPod is the benchmark's probe Pod: one busybox container with zero cpu and memory
// requests and limits, fsGroup 1000, runAsNonRoot true, no privilege, no escalation, no
// added capability and imagePullPolicy Always; change sets what the check is about.
func mtbPod(change func(*corev1.Pod)) *corev1.Pod {
	zero := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0m"), corev1.ResourceMemory: resource.MustParse("0Gi")}
	p := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: framework.UniqueName("security-context")},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{FSGroup: ptr.To(int64(1000)), RunAsNonRoot: ptr.To(true)},
			Containers: []corev1.Container{{
				Name:            "write-pod",
				Image:           "busybox",
				ImagePullPolicy: corev1.PullAlways,
				Command:         []string{"/bin/sh"},
				Args:            []string{"-c", "trap exit TERM; while true; do sleep 1; done"},
				Resources:       corev1.ResourceRequirements{Limits: zero, Requests: zero.DeepCopy()},
				SecurityContext: &corev1.SecurityContext{
					RunAsNonRoot:             ptr.To(true),
					Privileged:               ptr.To(false),
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{},
				},
			}},
			RestartPolicy: corev1.RestartPolicyOnFailure,
		},
	}
	change(p)
	return p
}

// mtbDryRunCreate creates obj in the tenant's Space with kubectl as the tenant, as a
// server-side dry run: every admission step runs, nothing is stored.
func mtbDryRunCreate(t *testing.T, me mtbTenant, obj any) framework.Result {
	t.Helper()
	manifest, err := json.Marshal(obj)
	require.NoError(t, err)
	return me.kubectl.RunWithInput(t, string(manifest), "create", "--dry-run=server", "-n", me.ns, "-o", "json", "-f", "-")
}

// mtbPodRefused is the benchmark's behavioral Pod check: the tenant may create Pods (the
// check's precondition, a SelfSubjectAccessReview), and the dry-run create of the probe Pod
// with change must fail. Here it must fail for the right reason: Pod Security restricted,
// naming the field (want).
func mtbPodRefused(t *testing.T, me mtbTenant, change func(*corev1.Pod), want string) {
	t.Helper()
	require.True(t, canI(t, me.clients.Kube, authorizationv1.ResourceAttributes{Namespace: me.ns, Verb: "create", Resource: "pods"}),
		"the tenant may create pods")
	pod := mtbPod(change)
	stderr := mtbDryRunCreate(t, me, pod).Failure(t).Stderr
	assert.Contains(t, stderr, fmt.Sprintf(`pods %q is forbidden: violates PodSecurity "restricted:latest": `, pod.Name))
	assert.Contains(t, stderr, want)
}

// PL1-CC-TI-1, block modification of resource quotas: kubectl auth can-i, as the tenant in
// their Space, says no to create, update, patch, delete and deletecollection of
// ResourceQuotas. The attempts themselves are refused as well.
func mtbBlockQuotaChanges(t *testing.T, me mtbTenant) {
	for _, verb := range []string{"create", "update", "patch", "delete", "deletecollection"} {
		r := me.kubectl.Run(t, "auth", "can-i", verb, "quota", "-n", me.ns).Failure(t)
		assert.Equal(t, "no", strings.TrimSpace(r.Stdout), verb)
	}
	for _, attack := range [][]string{
		{"delete", "resourcequota", secureQuota},
		{"delete", "resourcequota", "--all"},
		{"patch", "resourcequota", secureQuota, "--type=merge", "-p", `{"spec":{"hard":{"pods":"1000"}}}`},
		{"label", "resourcequota", secureQuota, "owner=me"},
		{"create", "quota", "more", "--hard=pods=1000"},
	} {
		args := append(attack, "-n", me.ns, "--dry-run=server")
		stderr := strings.ToLower(me.kubectl.Run(t, args...).Failure(t).Stderr)
		assert.Contains(t, stderr, "forbidden", "kubectl %v", attack)
	}
	q := me.kubectl.Run(t, "get", "resourcequota", secureQuota, "-n", me.ns, "-o", "jsonpath={.spec.hard.pods}").Success(t).Stdout
	assert.Equal(t, "20", q)
}

// PL1-CC-TI-2, block access to other tenant resources: for every namespaced resource and
// every verb, neither tenant's SelfSubjectAccessReview in the other's Space says yes.
// kubectl-mtb gives this id profile level 2 in its configuration; the benchmark's list puts it
// in level 1, so it runs here.
func mtbBlockOtherTenantResources(t *testing.T, me, other mtbTenant) {
	resources := mtbDiscover(t, true)
	assert.Empty(t, mtbAllowed(t, me, other.ns, resources, mtbVerbs), "the secure tenant in the other tenant's Space")
	assert.Empty(t, mtbAllowed(t, other, me.ns, resources, mtbVerbs), "the other tenant in the secure tenant's Space")
	assert.Contains(t, me.kubectl.Run(t, "get", "pods", "-n", other.ns).Failure(t).Stderr, "Forbidden")
	assert.Contains(t, other.kubectl.Run(t, "get", "secrets", "-n", me.ns).Failure(t).Stderr, "Forbidden")
}

// PL1-BC-HI-1 (the NodePort check): the tenant may create Services, and the dry-run create
// of a NodePort Service fails: the ResourceQuota holds services.nodeports at 0.
func mtbBlockNodePorts(t *testing.T, me mtbTenant) {
	require.True(t, canI(t, me.clients.Kube, authorizationv1.ResourceAttributes{Namespace: me.ns, Verb: "create", Resource: "services"}),
		"the tenant may create services")
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: framework.UniqueName("service")},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"test": "multi"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
		},
	}
	stderr := mtbDryRunCreate(t, me, svc).Failure(t).Stderr
	assert.Contains(t, stderr, fmt.Sprintf(`services %q is forbidden: exceeded quota: %s, requested: services.nodeports=1, used: services.nodeports=0, limited: services.nodeports=0`,
		svc.Name, secureQuota))
	// A ClusterIP Service, the tenant's ordinary one, is fine.
	svc.Name, svc.Spec.Type = framework.UniqueName("service"), corev1.ServiceTypeClusterIP
	mtbDryRunCreate(t, me, svc).Success(t)
}

// PL1-CC-FNS-1 and PL1-CC-FNS-2, configure namespace resource quotas and object limits: the
// tenant may get and list ResourceQuotas in their Space, and those quotas hold limits of the
// resources the check names. It returns the hard limits by name.
func mtbQuotaConfigured(t *testing.T, me mtbTenant, want ...string) map[string]string {
	t.Helper()
	for _, verb := range []string{"list", "get"} {
		require.True(t, canI(t, me.clients.Kube, authorizationv1.ResourceAttributes{Namespace: me.ns, Verb: verb, Resource: "resourcequotas"}),
			"the tenant may %s resourcequotas", verb)
	}
	quotas, err := me.clients.Kube.CoreV1().ResourceQuotas(me.ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	hard := map[string]string{}
	for _, q := range quotas.Items {
		for name, value := range q.Spec.Hard {
			hard[string(name)] = value.String()
		}
	}
	for _, name := range want {
		assert.Contains(t, hard, name, "a quota of %s in the Space", name)
	}
	described := me.kubectl.Run(t, "describe", "quota", "-n", me.ns).Success(t).Stdout
	for _, name := range want {
		assert.Contains(t, described, name)
	}
	return hard
}

// PL1-CC-DI-1, require imagePullPolicy Always: the benchmark dry-run creates its probe Pod
// with imagePullPolicy Never and passes when an admission webhook refuses it or when the Pod
// comes back with Always. Its probe sets neither capabilities.drop ["ALL"] nor a seccomp
// profile, so in a restricted Space Pod Security refuses it before the pull policy matters:
// kubectl-mtb counts that refusal, which is not an admission webhook's, as a failure. This
// asserts that reason, then asks what the check asks with the same probe made a restricted
// Pod: the Account's spec.isolation.alwaysPullImages sets Always on every container.
func mtbAlwaysPullImages(t *testing.T, me mtbTenant) {
	require.True(t, canI(t, me.clients.Kube, authorizationv1.ResourceAttributes{Namespace: me.ns, Verb: "create", Resource: "pods"}),
		"the tenant may create pods")
	never := func(p *corev1.Pod) { p.Spec.Containers[0].ImagePullPolicy = corev1.PullNever }
	probe := mtbPod(never)
	stderr := mtbDryRunCreate(t, me, probe).Failure(t).Stderr
	assert.Contains(t, stderr, fmt.Sprintf(`pods %q is forbidden: violates PodSecurity "restricted:latest": `, probe.Name))
	assert.Contains(t, stderr, `securityContext.capabilities.drop=["ALL"]`)
	assert.Contains(t, stderr, `securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`)
	assert.NotContains(t, stderr, "imagePullPolicy")

	restricted := mtbPod(func(p *corev1.Pod) {
		never(p)
		p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
		p.Spec.Containers[0].SecurityContext.Capabilities.Drop = []corev1.Capability{"ALL"}
		init := *p.Spec.Containers[0].DeepCopy()
		init.Name, init.ImagePullPolicy = "init", corev1.PullIfNotPresent
		p.Spec.InitContainers = []corev1.Container{init}
	})
	var created corev1.Pod
	require.NoError(t, json.Unmarshal([]byte(mtbDryRunCreate(t, me, restricted).Success(t).Stdout), &created))
	require.Len(t, created.Spec.Containers, 1)
	require.Len(t, created.Spec.InitContainers, 1)
	assert.Equal(t, corev1.PullAlways, created.Spec.Containers[0].ImagePullPolicy, "spec.containers[0].imagePullPolicy")
	assert.Equal(t, corev1.PullAlways, created.Spec.InitContainers[0].ImagePullPolicy, "spec.initContainers[0].imagePullPolicy")
}
