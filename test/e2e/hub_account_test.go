package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// revertDeadline is how soon a change of a hub's copy in the member is reverted (polled
// with a client, not kubectl, whose start would be most of it).
const revertDeadline = 3 * time.Second

// hubObject reads a config.kiosk.sh object of k's cluster as JSON; ok is false when it
// does not exist.
func hubObject(t *testing.T, k framework.Kubectl, resource, name string) (obj map[string]any, ok bool) {
	t.Helper()
	r := k.Run(t, "get", resource+".config.kiosk.sh", name, "-o", "json")
	if r.Err != nil {
		require.Contains(t, r.Stderr, "NotFound")
		return nil, false
	}
	require.NoError(t, json.Unmarshal([]byte(r.Stdout), &obj))
	return obj, true
}

// field is the value at the dotted path of obj, or nil.
func field(obj map[string]any, path string) any {
	var v any = obj
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// label is the value of label key of obj, or nil.
func label(obj map[string]any, key string) any {
	labels, _ := field(obj, "metadata.labels").(map[string]any)
	return labels[key]
}

// accountClusterStatus is the entry of member in the status.clusters of the hub's Account.
func accountClusterStatus(t *testing.T, account, member string) (configv1alpha1.AccountClusterStatus, bool) {
	t.Helper()
	a, err := cluster.AdminClients(t).Kiosk.ConfigV1alpha1().Accounts().Get(context.Background(), account, metav1.GetOptions{})
	require.NoError(t, err)
	for _, c := range a.Status.Clusters {
		if c.Name == member {
			return c, true
		}
	}
	return configv1alpha1.AccountClusterStatus{}, false
}

// An Account of the hub that selects the member appears there with its AccountQuota and its
// Template, marked as the hub's; a Space made in the member for it gets the Template; a
// change or deletion of a copy in the member is reverted within revertDeadline; a change in
// the hub reaches the member; a member that does not answer delays no other and is named
// in the Account's status; deselecting the member, or deleting the hub's Account, removes
// the copies. The hub does all this with exactly the RBAC of member-rbac.yaml.
func TestHubAccountCopies(t *testing.T) {
	m := member(t)
	name := framework.UniqueName("member")
	joinMember(t, m, name)
	region := framework.UniqueName("region")
	cluster.Admin().Run(t, "label", "clusters.config.kiosk.sh", name, "hub-e2e-region="+region).Success(t)
	// A second member that never answers: its Cluster uses the same Secret, at an address
	// where nothing listens.
	dead := framework.UniqueName("dead")
	cluster.Admin().Apply(t, fmt.Sprintf(`apiVersion: config.kiosk.sh/v1alpha1
kind: Cluster
metadata:
  name: %s
spec:
  server: https://127.0.0.1:1
  credentialsSecret:
    namespace: kube-system
    name: cluster-%s
`, dead, name)).Success(t)
	t.Cleanup(func() { cluster.Admin().Run(t, "delete", "clusters.config.kiosk.sh", dead, "--ignore-not-found") })

	user := framework.UniqueName("hub-copy-user")
	acct, quota, tmpl := framework.UniqueName("hub-copy"), framework.UniqueName("hub-copy-quota"), framework.UniqueName("hub-copy-tmpl")
	kioskEdit(t, cluster.Admin(), user)
	kioskEdit(t, m.Admin(), user)
	cluster.Admin().Apply(t, strings.ReplaceAll(templateDefinitionYAML, "space-template", tmpl)+`---
apiVersion: config.kiosk.sh/v1alpha1
kind: AccountQuota
metadata:
  name: `+quota+`
spec:
  account: `+acct+`
  quota:
    hard:
      pods: "2"
---
apiVersion: config.kiosk.sh/v1alpha1
kind: Account
metadata:
  name: `+acct+`
  labels:
    team: copies
spec:
  clusters:
    names: [`+dead+`]
    selector:
      matchLabels:
        hub-e2e-region: `+region+`
  space:
    limit: 2
    templateInstances:
    - spec:
        template: `+tmpl+`
  subjects:
  - kind: User
    name: `+user+`
    apiGroup: rbac.authorization.k8s.io
`).Success(t)
	t.Cleanup(func() {
		for _, r := range []string{"accounts", "accountquotas", "templates"} {
			cluster.Admin().Run(t, "delete", r+".config.kiosk.sh", map[string]string{"accounts": acct, "accountquotas": quota, "templates": tmpl}[r], "--ignore-not-found")
		}
	})

	system, err := cluster.AdminClients(t).Kube.CoreV1().Namespaces().Get(context.Background(), metav1.NamespaceSystem, metav1.GetOptions{})
	require.NoError(t, err)
	var copied map[string]any
	pollUntil(t, 30*time.Second, "the Account, its AccountQuota and its Template appear in the member", func() bool {
		a, okA := hubObject(t, m.Admin(), "accounts", acct)
		_, okQ := hubObject(t, m.Admin(), "accountquotas", quota)
		_, okT := hubObject(t, m.Admin(), "templates", tmpl)
		copied = a
		return okA && okQ && okT
	})
	assert.Equal(t, string(system.UID), label(copied, configv1alpha1.HubLabel),
		"the copy is marked as the hub's: the UID of the hub's kube-system namespace")
	assert.Equal(t, "copies", label(copied, "team"))
	assert.Nil(t, field(copied, "spec.clusters"), "a copy selects no clusters of its own")
	assert.EqualValues(t, 2, field(copied, "spec.space.limit"))
	q, _ := hubObject(t, m.Admin(), "accountquotas", quota)
	assert.Equal(t, acct, field(q, "spec.account"))
	assert.Equal(t, "2", field(q, "spec.quota.hard.pods"))

	// The hub's status says which members hold the copies: this one, not the dead one.
	pollUntil(t, 30*time.Second, "status.clusters of the hub's Account", func() bool {
		live, ok1 := accountClusterStatus(t, acct, name)
		gone, ok2 := accountClusterStatus(t, acct, dead)
		return ok1 && live.Synced && ok2 && !gone.Synced && gone.Message != ""
	})
	gone, _ := accountClusterStatus(t, acct, dead)
	t.Logf("status of the member that does not answer: %s", gone.Message)

	// The copy is a working Account of the member: its user makes a Space there through the
	// hub, and the Space gets the copied Template.
	space := framework.UniqueName("hub-copy-space")
	cluster.As(user).Apply(t, `apiVersion: tenancy.kiosk.sh/v1alpha1
kind: Space
metadata:
  name: `+space+`
spec:
  account: `+acct+`
  cluster: `+name+`
`).Success(t)
	t.Cleanup(func() { m.Admin().Run(t, "delete", "namespace", space, "--ignore-not-found", "--wait=false") })
	pollUntil(t, 30*time.Second, "the copied Template's LimitRange in the member's Space", func() bool {
		return m.Admin().Run(t, "get", "limitrange", "container-limit-range", "-n", space).Err == nil
	})

	// Local edits in the member are reverted; a deleted copy comes back.
	start := time.Now()
	m.Admin().Run(t, "patch", "accounts.config.kiosk.sh", acct, "--type", "merge", "-p", `{"spec":{"space":{"limit":99}}}`).Success(t)
	memberConfig := m.AdminClients(t).Kiosk.ConfigV1alpha1()
	pollUntil(t, revertDeadline, "the member's edit of the copied Account is reverted", func() bool {
		a, err := memberConfig.Accounts().Get(context.Background(), acct, metav1.GetOptions{})
		return err == nil && a.Spec.Space.Limit != nil && *a.Spec.Space.Limit == 2
	})
	t.Logf("a change of the copied Account in the member was reverted in %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	m.Admin().Run(t, "delete", "accountquotas.config.kiosk.sh", quota).Success(t)
	pollUntil(t, revertDeadline, "the deleted AccountQuota copy comes back", func() bool {
		q, err := memberConfig.AccountQuotas().Get(context.Background(), quota, metav1.GetOptions{})
		return err == nil && q.Spec.Quota.Hard.Pods().String() == "2"
	})
	t.Logf("a deleted AccountQuota copy was back in %v", time.Since(start).Round(time.Millisecond))

	// A change in the hub reaches the member.
	cluster.Admin().Run(t, "patch", "accountquotas.config.kiosk.sh", quota, "--type", "merge", "-p", `{"spec":{"quota":{"hard":{"pods":"5"}}}}`).Success(t)
	pollUntil(t, 10*time.Second, "the hub's change of the AccountQuota reaches the member", func() bool {
		q, _ := hubObject(t, m.Admin(), "accountquotas", quota)
		return field(q, "spec.quota.hard.pods") == "5"
	})

	// Deselecting the member (its Cluster loses the label) removes the copies and its status.
	cluster.Admin().Run(t, "label", "clusters.config.kiosk.sh", name, "hub-e2e-region-").Success(t)
	pollUntil(t, 30*time.Second, "the copies leave the deselected member", func() bool {
		_, okA := hubObject(t, m.Admin(), "accounts", acct)
		_, okQ := hubObject(t, m.Admin(), "accountquotas", quota)
		_, okT := hubObject(t, m.Admin(), "templates", tmpl)
		_, okS := accountClusterStatus(t, acct, name)
		return !okA && !okQ && !okT && !okS
	})

	// Selected again by name, then the hub's Account deleted: the copies go with it.
	cluster.Admin().Run(t, "patch", "accounts.config.kiosk.sh", acct, "--type", "merge", "-p",
		`{"spec":{"clusters":{"names":["`+name+`"]}}}`).Success(t)
	pollUntil(t, 30*time.Second, "the Account selected by name is back in the member", func() bool {
		_, ok := hubObject(t, m.Admin(), "accounts", acct)
		return ok
	})
	cluster.Admin().Run(t, "delete", "accounts.config.kiosk.sh", acct).Success(t)
	pollUntil(t, 30*time.Second, "the copies leave the member with the hub's Account", func() bool {
		_, okA := hubObject(t, m.Admin(), "accounts", acct)
		_, okQ := hubObject(t, m.Admin(), "accountquotas", quota)
		return !okA && !okQ
	})

	// The hub did all this as the member's tenancy-hub ServiceAccount with member-rbac.yaml,
	// which grants no more than the copies need.
	sa := "system:serviceaccount:kube-system:tenancy-hub"
	for _, allowed := range []string{"create accounts.config.kiosk.sh", "update accountquotas.config.kiosk.sh",
		"delete templates.config.kiosk.sh", "watch accounts.config.kiosk.sh"} {
		r := m.Admin().Run(t, append([]string{"auth", "can-i"}, append(strings.Fields(allowed), "--as", sa)...)...)
		assert.Equal(t, "yes", strings.TrimSpace(r.Stdout), allowed)
	}
	for _, refused := range []string{"get accounts.config.kiosk.sh", "patch accounts.config.kiosk.sh", "update accounts.config.kiosk.sh --subresource=status",
		"create templateinstances.config.kiosk.sh", "get secrets", "create namespaces", "create clusters.config.kiosk.sh"} {
		r := m.Admin().Run(t, append([]string{"auth", "can-i"}, append(strings.Fields(refused), "--as", sa)...)...)
		assert.Equal(t, "no", strings.TrimSpace(r.Stdout), refused)
	}
}

// An object of the member with the name of a hub's copy, but not made by the hub, is never
// written: the hub's Account says so in its status, and the member's own object stays as it
// was, also after the hub's Account goes.
func TestHubAccountCopyNeverClobbersAMembersOwn(t *testing.T) {
	m := member(t)
	name := framework.UniqueName("member")
	joinMember(t, m, name)
	acct := framework.UniqueName("hub-clash")
	own, hubs := framework.UniqueName("member-own"), framework.UniqueName("hub-own")
	account(t, m.Admin(), acct, own)
	cluster.Admin().Apply(t, `apiVersion: config.kiosk.sh/v1alpha1
kind: Account
metadata:
  name: `+acct+`
spec:
  clusters:
    names: [`+name+`]
  subjects:
  - kind: User
    name: `+hubs+`
    apiGroup: rbac.authorization.k8s.io
`).Success(t)
	t.Cleanup(func() { cluster.Admin().Run(t, "delete", "accounts.config.kiosk.sh", acct, "--ignore-not-found") })
	var entry configv1alpha1.AccountClusterStatus
	pollUntil(t, 30*time.Second, "the hub's Account reports the member's own Account", func() bool {
		var ok bool
		entry, ok = accountClusterStatus(t, acct, name)
		return ok && !entry.Synced && entry.Message != ""
	})
	assert.Contains(t, entry.Message, "not managed by this hub")
	assert.Contains(t, entry.Message, acct)
	mine, ok := hubObject(t, m.Admin(), "accounts", acct)
	require.True(t, ok)
	assert.Nil(t, label(mine, configv1alpha1.HubLabel))
	subjects, _ := json.Marshal(field(mine, "spec.subjects"))
	assert.Contains(t, string(subjects), own)
	assert.NotContains(t, string(subjects), hubs)

	cluster.Admin().Run(t, "delete", "accounts.config.kiosk.sh", acct).Success(t)
	// The hub syncs a member as a whole: once an Account selecting it after the deletion
	// is there, the hub has acted on the deletion.
	later := framework.UniqueName("hub-clash-later")
	cluster.Admin().Apply(t, `apiVersion: config.kiosk.sh/v1alpha1
kind: Account
metadata:
  name: `+later+`
spec:
  clusters:
    names: [`+name+`]
`).Success(t)
	t.Cleanup(func() { cluster.Admin().Run(t, "delete", "accounts.config.kiosk.sh", later, "--ignore-not-found") })
	pollUntil(t, 30*time.Second, "the later Account's copy in the member", func() bool {
		_, ok := hubObject(t, m.Admin(), "accounts", later)
		return ok
	})
	after, ok := hubObject(t, m.Admin(), "accounts", acct)
	require.True(t, ok, "the member's own Account was deleted by the hub")
	assert.Equal(t, field(mine, "metadata.resourceVersion"), field(after, "metadata.resourceVersion"), "the member's own Account was written")
}

// A tenant cannot make the hub write into a member: they may not give an Account, theirs or
// not, spec.clusters (through tenancy.kiosk.sh or config.kiosk.sh), nor create an Account
// that has them, and a Space created with spec.cluster for an Account the member does not
// have is refused there and creates no Account.
func TestHubAccountCopiesAttacker(t *testing.T) {
	m := member(t)
	name := framework.UniqueName("member")
	joinMember(t, m, name)
	tenant := framework.UniqueName("hub-attacker")
	acct := framework.UniqueName("hub-attacker-acct")
	kioskEdit(t, cluster.Admin(), tenant)
	kioskEdit(t, m.Admin(), tenant)
	account(t, cluster.Admin(), acct, tenant)
	selector := `{"spec":{"clusters":{"names":["` + name + `"]}}}`
	for _, resource := range []string{"accounts", "accounts.tenancy.kiosk.sh", "accounts.config.kiosk.sh"} {
		r := cluster.As(tenant).Run(t, "patch", resource, acct, "--type", "merge", "-p", selector).Failure(t)
		assert.Contains(t, r.Stderr, "Forbidden", resource)
	}
	other := framework.UniqueName("hub-attacker-new")
	for _, group := range []string{"tenancy.kiosk.sh", "config.kiosk.sh"} {
		r := cluster.As(tenant).Apply(t, `apiVersion: `+group+`/v1alpha1
kind: Account
metadata:
  name: `+other+`
spec:
  clusters:
    selector: {}
  subjects:
  - kind: User
    name: `+tenant+`
    apiGroup: rbac.authorization.k8s.io
`).Failure(t)
		assert.Contains(t, r.Stderr, "forbidden", group)
	}
	r := cluster.As(tenant).Apply(t, `apiVersion: tenancy.kiosk.sh/v1alpha1
kind: Space
metadata:
  name: `+framework.UniqueName("hub-attacker-space")+`
spec:
  account: `+acct+`
  cluster: `+name+`
`).Failure(t)
	t.Logf("a Space in the member for an Account it does not have: %s", r.Stderr)
	a, err := cluster.AdminClients(t).Kiosk.ConfigV1alpha1().Accounts().Get(context.Background(), acct, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Nil(t, a.Spec.Clusters)
	for _, n := range []string{acct, other} {
		_, ok := hubObject(t, m.Admin(), "accounts", n)
		assert.False(t, ok, "Account %s in the member", n)
	}
}

// spec.clusters of an Account is explained by kubectl, in both API groups, and validated
// field by field.
func TestHubAccountClustersExplainedAndValidated(t *testing.T) {
	for _, version := range []string{"config.kiosk.sh/v1alpha1", "tenancy.kiosk.sh/v1alpha1"} {
		var explain framework.Result
		pollUntil(t, time.Minute, "kubectl explain accounts.spec.clusters of "+version, func() bool {
			explain = cluster.Admin().Run(t, "explain", "accounts.spec.clusters", "--api-version", version)
			return explain.Err == nil
		})
		assert.Contains(t, explain.Stdout, "selector")
		assert.Contains(t, explain.Stdout, "names")
	}
	bad := cluster.Admin().Apply(t, `apiVersion: config.kiosk.sh/v1alpha1
kind: Account
metadata:
  name: `+framework.UniqueName("hub-bad-clusters")+`
spec:
  clusters:
    names: [Not_A_Label, eu, eu]
    selector:
      matchExpressions:
      - key: region
        operator: Near
`).Failure(t)
	for _, f := range []string{"spec.clusters.names[0]", "spec.clusters.names[2]", "spec.clusters.selector.matchExpressions[0].operator"} {
		assert.Contains(t, bad.Stderr, f)
	}
}
