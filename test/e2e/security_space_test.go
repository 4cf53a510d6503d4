package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// spaceWithMeta is a Space of account with the given metadata lines (labels, annotations).
func spaceWithMeta(name, account, meta string) string {
	return fmt.Sprintf("apiVersion: tenancy.kiosk.sh/v1alpha1\nkind: Space\nmetadata:\n  name: %s\n%sspec:\n  account: %s\n", name, meta, account)
}

// A tenant cannot weaken what the Account's spaceTemplate sets, nor set the Pod Security,
// scheduling or kiosk.sh/ keys of a Space, at create or at update: the attack that made a
// Space privileged, or faked the labels that other tenants' NetworkPolicies select on.
func TestHoleSpaceLabelsOverrideTheAccount(t *testing.T) {
	t.Parallel()
	acct, me := framework.UniqueName("hole-labels"), framework.UniqueName("hole-labels-me")
	admin, tenant := cluster.Admin(), cluster.As(me)
	admin.Apply(t, fmt.Sprintf(`apiVersion: config.kiosk.sh/v1alpha1
kind: Account
metadata:
  name: %[1]s
spec:
  space:
    spaceTemplate:
      metadata:
        labels:
          pod-security.kubernetes.io/enforce: restricted
          team: %[1]s
        annotations:
          owner: platform
  subjects:
  - kind: User
    name: %[2]s
    apiGroup: rbac.authorization.k8s.io
`, acct, me)).Success(t)
	grantKioskEdit(t, cluster.AdminClients(t), acct, me)
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", "-l", "kiosk.sh/account="+acct, "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", acct, "--ignore-not-found").Deleted(t)
	})

	// The Account's values win over those of the create.
	forged := acct + "-forged"
	tenant.Apply(t, spaceWithMeta(forged, acct, `  labels:
    pod-security.kubernetes.io/enforce: privileged
    team: someone-else
  annotations:
    owner: me
`)).Success(t)
	labels := admin.Run(t, "get", "namespace", forged, "-o",
		`jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce} {.metadata.labels.team} {.metadata.annotations.owner}`).Success(t).Stdout
	assert.Equal(t, "restricted "+acct+" platform", labels)
	r := tenant.RunWithInput(t, `apiVersion: v1
kind: Pod
metadata:
  name: privileged
spec:
  containers:
  - name: c
    image: nginx
    securityContext:
      privileged: true
`, "create", "-n", forged, "-f", "-").Failure(t)
	assert.Contains(t, r.Stderr, `violates PodSecurity "restricted:latest"`)

	// Keys the spaceTemplate does not set, but that only admins may set.
	for key, want := range map[string]string{
		"pod-security.kubernetes.io/warn":             "metadata.labels[pod-security.kubernetes.io/warn]: Forbidden: pod-security.kubernetes.io/ keys are set by admins only",
		"team.kiosk.sh/tier":                          "metadata.labels[team.kiosk.sh/tier]: Forbidden: kiosk.sh/ keys are set by admins only",
		"scheduler.alpha.kubernetes.io/node-selector": "metadata.annotations[scheduler.alpha.kubernetes.io/node-selector]: Forbidden: scheduler.alpha.kubernetes.io/ keys are set by admins only",
	} {
		meta := "  labels:\n    " + key + ": privileged\n"
		if key == "scheduler.alpha.kubernetes.io/node-selector" {
			meta = "  annotations:\n    " + key + ": anywhere=true\n"
		}
		name := framework.UniqueName("hole-labels-key")
		r := tenant.Apply(t, spaceWithMeta(name, acct, meta)).Failure(t)
		assert.Contains(t, r.Stderr, want)
		admin.Run(t, "get", "namespace", name).Failure(t)
	}

	// At update, with a role that may update the namespace.
	grantNamespaceUpdate(t, acct+"-updater", forged, me)
	r = tenant.Run(t, "label", "space", forged, "pod-security.kubernetes.io/enforce-").Failure(t)
	assert.Contains(t, r.Stderr, "metadata.labels[pod-security.kubernetes.io/enforce]: Forbidden: pod-security.kubernetes.io/ keys are set by admins only")
	r = tenant.Run(t, "label", "space", forged, "team=someone-else", "--overwrite").Failure(t)
	assert.Contains(t, r.Stderr, "metadata.labels[team]: Forbidden: team is set by the Account's spec.space.spaceTemplate")
	r = tenant.Run(t, "annotate", "space", forged, "owner-").Failure(t)
	assert.Contains(t, r.Stderr, "metadata.annotations[owner]: Forbidden: owner is set by the Account's spec.space.spaceTemplate")
	tenant.Run(t, "label", "space", forged, "tier=gold").Success(t)
	labels = admin.Run(t, "get", "namespace", forged, "-o",
		`jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce} {.metadata.labels.team} {.metadata.labels.tier}`).Success(t).Stdout
	assert.Equal(t, "restricted "+acct+" gold", labels)
	// An admin still can.
	admin.Run(t, "label", "space", forged, "pod-security.kubernetes.io/warn=baseline").Success(t)
}

// A tenant cannot take over another Account by creating the namespace of a service account
// that Account names as its subject, then that service account, and using its token.
func TestHoleServiceAccountNamespaceTakeover(t *testing.T) {
	t.Parallel()
	victim, attacker := framework.UniqueName("hole-sa-victim"), framework.UniqueName("hole-sa-attacker")
	victimUser, attackerUser := framework.UniqueName("hole-sa-v"), framework.UniqueName("hole-sa-a")
	saNS, groupNS, userNS := victim+"-ci", victim+"-bots", victim+"-deploy"
	admin := cluster.Admin()
	admin.Apply(t, fmt.Sprintf(`apiVersion: config.kiosk.sh/v1alpha1
kind: Account
metadata:
  name: %[1]s
spec:
  subjects:
  - kind: User
    name: %[2]s
    apiGroup: rbac.authorization.k8s.io
  - kind: ServiceAccount
    name: deployer
    namespace: %[3]s
  - kind: Group
    name: system:serviceaccounts:%[4]s
    apiGroup: rbac.authorization.k8s.io
  - kind: User
    name: system:serviceaccount:%[5]s:pipeline
    apiGroup: rbac.authorization.k8s.io
`, victim, victimUser, saNS, groupNS, userNS)).Success(t)
	admin.Apply(t, accountYAML(attacker, attackerUser, "")).Success(t)
	grantKioskEdit(t, cluster.AdminClients(t), victim, victimUser)
	grantKioskEdit(t, cluster.AdminClients(t), attacker, attackerUser)
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", "-l", "kiosk.sh/account in ("+victim+","+attacker+")", "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", victim, attacker, "--ignore-not-found").Deleted(t)
	})
	for _, ns := range []string{saNS, groupNS, userNS} {
		r := cluster.As(attackerUser).Apply(t, space(ns, attacker)).Failure(t)
		assert.Contains(t, r.Stderr, fmt.Sprintf(`metadata.name: Forbidden: namespace %q holds service accounts that another Account names as subjects`, ns))
		admin.Run(t, "get", "namespace", ns).Failure(t)
	}
	// The Account that names them may have such a Space.
	cluster.As(victimUser).Apply(t, space(saNS, victim)).Success(t)
}

// The other order of TestHoleServiceAccountNamespaceTakeover: a tenant of one Account has
// the Space first, and an admin then names service accounts of that namespace as subjects
// of another Account. The Account write is refused; service accounts of the Account's own
// Spaces, and of namespaces that are no Space, may be its subjects.
func TestHoleServiceAccountNamespaceTakenFirst(t *testing.T) {
	t.Parallel()
	victim, attacker := framework.UniqueName("hole-sa-first-a"), framework.UniqueName("hole-sa-first-b")
	victimUser, attackerUser := framework.UniqueName("hole-sa-first-va"), framework.UniqueName("hole-sa-first-vb")
	taken, own, noSpace := attacker+"-ci", victim+"-own", victim+"-nospace"
	admin := cluster.Admin()
	admin.Apply(t, accountYAML(attacker, attackerUser, "")).Success(t)
	grantKioskEdit(t, cluster.AdminClients(t), attacker, attackerUser)
	grantKioskEdit(t, cluster.AdminClients(t), victim, victimUser)
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", "-l", "kiosk.sh/account in ("+victim+","+attacker+")", "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", victim, attacker, "--ignore-not-found").Deleted(t)
	})
	cluster.As(attackerUser).Apply(t, space(taken, attacker)).Success(t)

	withSubject := func(subject string) string {
		return accountYAML(victim, victimUser, "") + subject
	}
	serviceAccountSubjects := map[string]string{
		"group":          "  - kind: Group\n    name: system:serviceaccounts:%s\n    apiGroup: rbac.authorization.k8s.io\n",
		"ServiceAccount": "  - kind: ServiceAccount\n    name: deployer\n    namespace: %s\n",
		"user":           "  - kind: User\n    name: system:serviceaccount:%s:pipeline\n    apiGroup: rbac.authorization.k8s.io\n",
	}
	refused := fmt.Sprintf(`spec.subjects[1]: Forbidden: namespace %q is a Space of another Account; its service accounts cannot be subjects of account %q`, taken, victim)
	for form, subject := range serviceAccountSubjects {
		r := admin.Apply(t, withSubject(fmt.Sprintf(subject, taken))).Failure(t)
		assert.Contains(t, r.Stderr, refused, form)
		admin.Run(t, "get", "accounts.config.kiosk.sh", victim).Failure(t)
	}

	// Service accounts of the Account's own Space, and of a namespace that is no Space.
	admin.Apply(t, accountYAML(victim, victimUser, "")).Success(t)
	cluster.As(victimUser).Apply(t, space(own, victim)).Success(t)
	for form, subject := range serviceAccountSubjects {
		admin.Apply(t, withSubject(fmt.Sprintf(subject, own)+fmt.Sprintf(subject, noSpace))).Success(t)
		// Nor may an update add the other Account's Space.
		r := admin.Apply(t, withSubject(fmt.Sprintf(subject, taken))).Failure(t)
		assert.Contains(t, r.Stderr, refused, form)
	}
	subjects := admin.Run(t, "get", "accounts.config.kiosk.sh", victim, "-o", "jsonpath={.spec.subjects}").Success(t).Stdout
	assert.NotContains(t, subjects, taken)

	// An Account that named the namespace before it became a Space of another Account (an
	// admin labelled it, or the Account was stored before this rule) keeps its subjects;
	// each write that keeps them warns, and a change of its subjects is refused until they
	// go.
	later := attacker + "-later"
	group := fmt.Sprintf(serviceAccountSubjects["group"], later)
	admin.Apply(t, withSubject(group)).Success(t)
	admin.Apply(t, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+later+"\n  labels:\n    kiosk.sh/account: "+attacker+"\n").Success(t)
	eventually(t, "the server knows Space "+later, func(context.Context) bool {
		return admin.Run(t, "get", "spaces", later).Err == nil
	})
	r := admin.Run(t, "label", "accounts.config.kiosk.sh", victim, "reviewed=true").Success(t)
	assert.Contains(t, r.Stderr, fmt.Sprintf(`Warning: spec.subjects[1]: Forbidden: namespace %q is a Space of another Account; its service accounts cannot be subjects of account %q`, later, victim))
	r = admin.Apply(t, withSubject(group+fmt.Sprintf(serviceAccountSubjects["group"], own))).Failure(t)
	assert.Contains(t, r.Stderr, fmt.Sprintf(`spec.subjects[1]: Forbidden: namespace %q is a Space of another Account`, later))
	admin.Apply(t, withSubject(fmt.Sprintf(serviceAccountSubjects["group"], own))).Success(t)
}

// A tenant who may update their Space's namespace cannot go around Space admission to
// kube-apiserver, with kubectl label or annotate on the namespace, to set Pod Security,
// scheduling or kiosk.sh/ keys, to take the namespace out of its Account, or to move it into
// another: the ValidatingAdmissionPolicy tenancy-apiserver-namespaces refuses it, naming the
// key. Other keys go through, and an admin still sets these.
func TestHoleNamespaceLabelsBypassSpaceAdmission(t *testing.T) {
	t.Parallel()
	mine, victim, me, _ := spaceAdmissionFixture(t)
	tenant, admin := cluster.As(me), cluster.Admin()
	ns := mine + "-a"
	tenant.Apply(t, space(ns, mine)).Success(t)
	grantNamespaceUpdate(t, mine+"-ns-updater", ns, me)
	denied := func(namespace string) string {
		return fmt.Sprintf(`namespaces %q is forbidden: ValidatingAdmissionPolicy 'tenancy-apiserver-namespaces' with binding 'tenancy-apiserver-namespaces' denied request: `, namespace)
	}
	byAdmins := " keys of a Space's namespace are set by admins only (who may update all namespaces)"
	for _, attack := range []struct {
		args []string
		want string
	}{
		{[]string{"label", "ns", ns, "pod-security.kubernetes.io/enforce=privileged", "--overwrite"},
			"metadata.labels[pod-security.kubernetes.io/enforce]: pod-security.kubernetes.io/" + byAdmins},
		{[]string{"annotate", "ns", ns, "scheduler.alpha.kubernetes.io/node-selector=x"},
			"metadata.annotations[scheduler.alpha.kubernetes.io/node-selector]: scheduler.alpha.kubernetes.io/" + byAdmins},
		{[]string{"label", "ns", ns, "team.kiosk.sh/tier=gold"},
			"metadata.labels[team.kiosk.sh/tier]: kiosk.sh/" + byAdmins},
		{[]string{"label", "ns", ns, "kiosk.sh/account=" + victim, "--overwrite"},
			"metadata.labels[kiosk.sh/account]: kiosk.sh/" + byAdmins},
		{[]string{"label", "ns", ns, "kiosk.sh/account-"},
			"metadata.labels[kiosk.sh/account]: kiosk.sh/" + byAdmins},
	} {
		r := tenant.Run(t, attack.args...).Failure(t)
		assert.Contains(t, r.Stderr, denied(ns)+attack.want, "kubectl %v", attack.args)
	}
	got := admin.Run(t, "get", "namespace", ns, "-o",
		`jsonpath={.metadata.labels.kiosk\.sh/account} {.metadata.labels.pod-security\.kubernetes\.io/enforce}{.metadata.labels.team\.kiosk\.sh/tier}{.metadata.annotations.scheduler\.alpha\.kubernetes\.io/node-selector}`).Success(t).Stdout
	assert.Equal(t, mine+" ", got, "the namespace is still in its Account, without the refused keys")

	// Nor can a namespace that is no Space be moved into an Account.
	plain := mine + "-plain"
	admin.Run(t, "create", "namespace", plain).Success(t)
	t.Cleanup(func() { admin.Run(t, "delete", "namespace", plain, "--ignore-not-found", "--wait=false").Deleted(t) })
	grantInNamespace(t, mine+"-plain-updater", plain, me, "", "[namespaces]", "[get, update, patch]")
	r := tenant.Run(t, "label", "ns", plain, "kiosk.sh/account="+victim).Failure(t)
	assert.Contains(t, r.Stderr, denied(plain)+"metadata.labels[kiosk.sh/account]: kiosk.sh/"+byAdmins)

	tenant.Run(t, "label", "ns", ns, "team=x").Success(t)
	assert.Equal(t, "x", admin.Run(t, "get", "namespace", ns, "-o", "jsonpath={.metadata.labels.team}").Success(t).Stdout)
	admin.Run(t, "label", "ns", ns, "pod-security.kubernetes.io/enforce=baseline").Success(t)
	assert.Equal(t, "baseline", admin.Run(t, "get", "namespace", ns, "-o",
		`jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}`).Success(t).Stdout)
}
