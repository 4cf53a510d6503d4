// Package access is the in-memory index that decides which Spaces and which Accounts each
// user sees. It is fed with namespaces, RBAC objects and Accounts, evaluates RBAC exactly as
// kube-apiserver's RBAC authorizer does, and serves lookups and watches from immutable
// snapshots.
//
// Work is incremental: a role is resolved once into what it grants (get of namespaces, get
// of accounts), a binding contributes grants of (subject, name) pairs or (subject,
// everything), and a change re-evaluates only the bindings it touches. A lookup unions the
// grants of the user's name and groups, so it costs O(the user's visible objects).
//
// Revisions: the Spaces view publishes each change at the resourceVersion of the
// kube-apiserver object that caused it, raised when needed to stay strictly increasing, so
// revisions stay meaningful across restarts. The Accounts view does the same with the
// Accounts' resourceVersions, from this server's own storage, and counts RBAC changes on.
package access

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Options configure an Index.
type Options struct {
	// HistorySize is how many changes each view keeps for watches that resume (default
	// 4096).
	HistorySize int
	// HistoryAge is how long each view keeps a change for watches that resume (default 5
	// minutes): a watch that resumes from an older revision is told it is gone and lists
	// again, as a watch of kube-apiserver is once its watch cache has moved on. Watches
	// that asked for bookmarks get a fresh revision every minute (DefaultWatchConfig).
	HistoryAge time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RecheckAfter are the delays after the last change of cluster-wide RBAC at which the
	// watches that see everything by other means are asked once more, besides at once: the
	// authorizer that answers them may see a change a moment after the index does.
	RecheckAfter []time.Duration
	// Load makes the index load what exists before it publishes anything: until MarkReady,
	// changes are made in place, without copies or history, and readers see an empty
	// index. MarkReady then publishes everything loaded as the first snapshot. Without
	// Load, every change is published as it is made.
	Load bool
}

// Index is the access index. Its methods are safe for concurrent use; writers are
// serialized, readers never wait.
type Index struct {
	mu       sync.Mutex
	spaces   *View[*corev1.Namespace]
	accounts *View[runtime.Object]

	clusterRoles map[string]roleGrants // name
	roles        map[string]roleGrants // namespace/name
	bindings     map[string]*binding   // id
	referrers    map[string]map[string]struct{}
	accountKeys  map[string][]string

	ready             atomic.Bool
	clusterGeneration atomic.Uint64
	recheckAfter      []time.Duration
	recheckTimers     []*time.Timer // guarded by mu
}

// roleGrants is what one role allows that the index cares about.
type roleGrants struct {
	namespaces grant
	accounts   grant
}

type binding struct {
	namespace string // "" for a ClusterRoleBinding
	role      string // role id
	keys      []string
	applied   contribution
}

// contribution is what a binding grants, as applied to the views.
type contribution struct {
	spaces, accounts                 []keyName
	everySpaceKeys, everyAccountKeys []string
}

type keyName struct{ key, name string }

// New returns an empty Index.
func New(opts Options) *Index {
	if opts.HistorySize <= 0 {
		opts.HistorySize = 4096
	}
	if opts.HistoryAge <= 0 {
		opts.HistoryAge = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Index{
		spaces:       newView[*corev1.Namespace](opts.HistorySize, opts.HistoryAge, opts.Now, opts.Load),
		accounts:     newView[runtime.Object](opts.HistorySize, opts.HistoryAge, opts.Now, opts.Load),
		clusterRoles: map[string]roleGrants{},
		roles:        map[string]roleGrants{},
		bindings:     map[string]*binding{},
		referrers:    map[string]map[string]struct{}{},
		accountKeys:  map[string][]string{},
		recheckAfter: opts.RecheckAfter,
	}
}

// Spaces is the view of namespaces that are Spaces.
func (x *Index) Spaces() *View[*corev1.Namespace] { return x.spaces }

// Accounts is the view of Accounts.
func (x *Index) Accounts() *View[runtime.Object] { return x.accounts }

// ClusterRBACGeneration changes whenever a ClusterRole or ClusterRoleBinding changes:
// answers about cluster-wide permissions cached before a change are stale after it.
func (x *Index) ClusterRBACGeneration() uint64 { return x.clusterGeneration.Load() }

// MarkReady records that the index has been fed everything that existed at start, and
// publishes it if the index was made with Load. The history starts here: the states
// published while the index was filling are not states the cluster was ever in, so no
// watch may resume from them.
func (x *Index) MarkReady() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.spaces.publishLoaded()
	x.accounts.publishLoaded()
	x.spaces.forgetHistory()
	x.accounts.forgetHistory()
	x.ready.Store(true)
}

// Ready reports whether MarkReady was called.
func (x *Index) Ready() bool { return x.ready.Load() }

func parseRevision(rv string) uint64 {
	n, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// change runs fn as one change, published at the revision of the object that caused it.
func (x *Index) change(spacesRV, accountsRV string, fn func()) {
	x.mu.Lock()
	defer x.mu.Unlock()
	fn()
	x.spaces.commit(parseRevision(spacesRV))
	x.accounts.commit(parseRevision(accountsRV))
}

// clusterChange runs fn as a change of cluster-wide RBAC. The generation moves before the
// change is published, so no answer cached before it is used after; then every watch that
// sees everything by other means is asked again, at once and after each of RecheckAfter.
func (x *Index) clusterChange(rv string, fn func()) {
	x.change(rv, "", func() {
		fn()
		x.clusterGeneration.Add(1)
		if x.recheckTimers == nil {
			for _, d := range x.recheckAfter {
				x.recheckTimers = append(x.recheckTimers, time.AfterFunc(d, x.recheckEverything))
			}
			return
		}
		for i, t := range x.recheckTimers {
			t.Reset(x.recheckAfter[i])
		}
	})
	x.recheckEverything()
}

func (x *Index) recheckEverything() {
	x.spaces.recheckEverything()
	x.accounts.recheckEverything()
}

// UpsertSpace adds or replaces a namespace that is a Space. The caller decides which
// namespaces are Spaces, and calls DeleteSpace for one that stops being one.
func (x *Index) UpsertSpace(ns *corev1.Namespace) {
	x.change(ns.ResourceVersion, "", func() { x.spaces.setObject(ns.Name, ns) })
}

// DeleteSpace removes a Space. rv is the resourceVersion of the deletion, if known.
func (x *Index) DeleteSpace(name, rv string) {
	x.change(rv, "", func() { x.spaces.deleteObject(name) })
}

// UpsertAccount adds or replaces an Account and its subjects.
func (x *Index) UpsertAccount(name string, obj runtime.Object, subjects []rbacv1.Subject, rv string) {
	x.change("", rv, func() {
		keys := subjectKeys(subjects, "")
		for _, k := range keys {
			x.accounts.addGrant(k, name)
		}
		for _, k := range x.accountKeys[name] {
			x.accounts.removeGrant(k, name)
		}
		x.accountKeys[name] = keys
		x.accounts.setObject(name, obj)
	})
}

// DeleteAccount removes an Account.
func (x *Index) DeleteAccount(name, rv string) {
	x.change("", rv, func() {
		for _, k := range x.accountKeys[name] {
			x.accounts.removeGrant(k, name)
		}
		delete(x.accountKeys, name)
		x.accounts.deleteObject(name)
	})
}

func clusterRoleID(name string) string     { return "ClusterRole/" + name }
func roleID(namespace, name string) string { return "Role/" + namespace + "/" + name }

// UpsertClusterRole adds or replaces a ClusterRole.
func (x *Index) UpsertClusterRole(cr *rbacv1.ClusterRole) {
	x.clusterChange(cr.ResourceVersion, func() {
		x.setRole(clusterRoleID(cr.Name), x.clusterRoles, cr.Name, cr.Rules)
	})
}

// DeleteClusterRole removes a ClusterRole: what its bindings granted is revoked.
func (x *Index) DeleteClusterRole(name, rv string) {
	x.clusterChange(rv, func() { x.deleteRole(clusterRoleID(name), x.clusterRoles, name) })
}

// UpsertRole adds or replaces a Role.
func (x *Index) UpsertRole(r *rbacv1.Role) {
	x.change(r.ResourceVersion, "", func() {
		x.setRole(roleID(r.Namespace, r.Name), x.roles, r.Namespace+"/"+r.Name, r.Rules)
	})
}

// DeleteRole removes a Role.
func (x *Index) DeleteRole(namespace, name, rv string) {
	x.change(rv, "", func() { x.deleteRole(roleID(namespace, name), x.roles, namespace+"/"+name) })
}

func (x *Index) setRole(id string, roles map[string]roleGrants, key string, rules []rbacv1.PolicyRule) {
	g := roleGrants{namespaces: summarize(rules, namespacesTarget), accounts: summarize(rules, accountsTarget)}
	old, existed := roles[key]
	roles[key] = g
	if existed && old.namespaces.equal(g.namespaces) && old.accounts.equal(g.accounts) {
		return
	}
	x.reapply(id)
}

func (x *Index) deleteRole(id string, roles map[string]roleGrants, key string) {
	if _, ok := roles[key]; !ok {
		return
	}
	delete(roles, key)
	x.reapply(id)
}

// reapply re-evaluates the bindings that refer to a role whose grants changed.
func (x *Index) reapply(role string) {
	for id := range x.referrers[role] {
		x.apply(x.bindings[id])
	}
}

// UpsertClusterRoleBinding adds or replaces a ClusterRoleBinding.
func (x *Index) UpsertClusterRoleBinding(b *rbacv1.ClusterRoleBinding) {
	x.clusterChange(b.ResourceVersion, func() {
		role := ""
		if b.RoleRef.Kind == "ClusterRole" {
			role = clusterRoleID(b.RoleRef.Name)
		}
		x.setBinding("ClusterRoleBinding/"+b.Name, "", role, subjectKeys(b.Subjects, ""))
	})
}

// DeleteClusterRoleBinding removes a ClusterRoleBinding: what it granted is revoked.
func (x *Index) DeleteClusterRoleBinding(name, rv string) {
	x.clusterChange(rv, func() { x.deleteBinding("ClusterRoleBinding/" + name) })
}

// UpsertRoleBinding adds or replaces a RoleBinding.
func (x *Index) UpsertRoleBinding(b *rbacv1.RoleBinding) {
	x.change(b.ResourceVersion, "", func() {
		role := ""
		switch b.RoleRef.Kind {
		case "ClusterRole":
			role = clusterRoleID(b.RoleRef.Name)
		case "Role":
			role = roleID(b.Namespace, b.RoleRef.Name)
		}
		x.setBinding("RoleBinding/"+b.Namespace+"/"+b.Name, b.Namespace, role, subjectKeys(b.Subjects, b.Namespace))
	})
}

// DeleteRoleBinding removes a RoleBinding.
func (x *Index) DeleteRoleBinding(namespace, name, rv string) {
	x.change(rv, "", func() { x.deleteBinding("RoleBinding/" + namespace + "/" + name) })
}

func (x *Index) setBinding(id, namespace, role string, keys []string) {
	b := x.bindings[id]
	if b == nil {
		b = &binding{}
		x.bindings[id] = b
	}
	if b.role != role {
		x.unrefer(b.role, id)
		refs := x.referrers[role]
		if refs == nil {
			refs = map[string]struct{}{}
			x.referrers[role] = refs
		}
		refs[id] = struct{}{}
	}
	b.namespace, b.role, b.keys = namespace, role, keys
	x.apply(b)
}

func (x *Index) deleteBinding(id string) {
	b := x.bindings[id]
	if b == nil {
		return
	}
	b.keys = nil
	x.apply(b)
	x.unrefer(b.role, id)
	delete(x.bindings, id)
}

func (x *Index) unrefer(role, id string) {
	if refs := x.referrers[role]; refs != nil {
		delete(refs, id)
		if len(refs) == 0 {
			delete(x.referrers, role)
		}
	}
}

// grantsOf returns what the role of a binding allows, and whether the role exists.
func (x *Index) grantsOf(b *binding) (roleGrants, bool) {
	const crPrefix = "ClusterRole/"
	if len(b.role) > len(crPrefix) && b.role[:len(crPrefix)] == crPrefix {
		g, ok := x.clusterRoles[b.role[len(crPrefix):]]
		return g, ok
	}
	const rPrefix = "Role/"
	if len(b.role) > len(rPrefix) && b.role[:len(rPrefix)] == rPrefix {
		g, ok := x.roles[b.role[len(rPrefix):]]
		return g, ok
	}
	return roleGrants{}, false
}

// contributionOf works out what a binding grants now.
func (x *Index) contributionOf(b *binding) contribution {
	var c contribution
	g, ok := x.grantsOf(b)
	if !ok || len(b.keys) == 0 {
		return c
	}
	if b.namespace != "" {
		// A RoleBinding grants get of its own namespace only, and never of Accounts,
		// which are cluster-scoped.
		if g.namespaces.allows(b.namespace) {
			for _, k := range b.keys {
				c.spaces = append(c.spaces, keyName{k, b.namespace})
			}
		}
		return c
	}
	for _, k := range b.keys {
		if g.namespaces.all {
			c.everySpaceKeys = append(c.everySpaceKeys, k)
		}
		for _, n := range g.namespaces.names {
			c.spaces = append(c.spaces, keyName{k, n})
		}
		if g.accounts.all {
			c.everyAccountKeys = append(c.everyAccountKeys, k)
		}
		for _, n := range g.accounts.names {
			c.accounts = append(c.accounts, keyName{k, n})
		}
	}
	return c
}

// apply brings a binding's grants in the views in line with what it grants now. New
// grants are added before old ones are removed, so nothing flickers.
func (x *Index) apply(b *binding) {
	if b == nil {
		return
	}
	next := x.contributionOf(b)
	prev := b.applied
	b.applied = next
	for _, g := range next.spaces {
		x.spaces.addGrant(g.key, g.name)
	}
	for _, k := range next.everySpaceKeys {
		x.spaces.addEverything(k)
	}
	for _, g := range next.accounts {
		x.accounts.addGrant(g.key, g.name)
	}
	for _, k := range next.everyAccountKeys {
		x.accounts.addEverything(k)
	}
	for _, g := range prev.spaces {
		x.spaces.removeGrant(g.key, g.name)
	}
	for _, k := range prev.everySpaceKeys {
		x.spaces.removeEverything(k)
	}
	for _, g := range prev.accounts {
		x.accounts.removeGrant(g.key, g.name)
	}
	for _, k := range prev.everyAccountKeys {
		x.accounts.removeEverything(k)
	}
}

// HasRoleBinding reports whether the index has been fed the RoleBinding.
func (x *Index) HasRoleBinding(namespace, name string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	_, ok := x.bindings["RoleBinding/"+namespace+"/"+name]
	return ok
}
