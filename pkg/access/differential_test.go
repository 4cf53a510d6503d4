package access

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// world is the plain state a reference evaluator reads: the RBAC authorizer's algorithm,
// written the simple way, one namespace and one binding at a time.
type world struct {
	namespaces   map[string]bool
	accounts     map[string][]rbacv1.Subject
	clusterRoles map[string]*rbacv1.ClusterRole
	roles        map[string]*rbacv1.Role // namespace/name
	crbs         map[string]*rbacv1.ClusterRoleBinding
	rbs          map[string]*rbacv1.RoleBinding // namespace/name
}

func appliesTo(s Subject, sub rbacv1.Subject, namespace string) bool {
	switch sub.Kind {
	case "User":
		return s.User == sub.Name
	case "Group":
		return slices.Contains(s.Groups, sub.Name)
	case "ServiceAccount":
		ns := namespace
		if sub.Namespace != "" {
			ns = sub.Namespace
		}
		return ns != "" && s.User == "system:serviceaccount:"+ns+":"+sub.Name
	}
	return false
}

func anyApplies(s Subject, subs []rbacv1.Subject, namespace string) bool {
	for _, sub := range subs {
		if appliesTo(s, sub, namespace) {
			return true
		}
	}
	return false
}

func anyRuleAllows(rules []rbacv1.PolicyRule, req Request) bool {
	for i := range rules {
		if RuleAllows(&rules[i], req) {
			return true
		}
	}
	return false
}

func (w *world) allowed(s Subject, namespace string, req Request) bool {
	for _, b := range w.crbs {
		if cr := w.clusterRoles[b.RoleRef.Name]; cr != nil && anyApplies(s, b.Subjects, "") && anyRuleAllows(cr.Rules, req) {
			return true
		}
	}
	if namespace == "" {
		return false
	}
	for _, b := range w.rbs {
		if b.Namespace != namespace || !anyApplies(s, b.Subjects, namespace) {
			continue
		}
		var rules []rbacv1.PolicyRule
		if b.RoleRef.Kind == "ClusterRole" {
			if cr := w.clusterRoles[b.RoleRef.Name]; cr != nil {
				rules = cr.Rules
			}
		} else if r := w.roles[namespace+"/"+b.RoleRef.Name]; r != nil {
			rules = r.Rules
		}
		if anyRuleAllows(rules, req) {
			return true
		}
	}
	return false
}

func (w *world) spaces(s Subject) []string {
	var out []string
	for ns := range w.namespaces {
		if w.allowed(s, ns, Request{Verb: "get", Resource: "namespaces", Name: ns}) {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return out
}

func (w *world) accountNames(s Subject) []string {
	var out []string
	for name, subs := range w.accounts {
		if anyApplies(s, subs, "") || w.allowed(s, "", Request{Verb: "get", APIGroup: "config.kiosk.sh", Resource: "accounts", Name: name}) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// generator makes random RBAC states over a small universe, so that changes collide.
type generator struct {
	r          *rand.Rand
	namespaces []string
	users      []string
	groups     []string
}

func pick[T any](r *rand.Rand, from []T) T { return from[r.IntN(len(from))] }

func (g *generator) rule() rbacv1.PolicyRule {
	r := g.r
	if r.IntN(10) == 0 {
		return rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"*"}}
	}
	rule := rbacv1.PolicyRule{
		Verbs:     []string{pick(r, []string{"get", "get", "list", "*", "watch", "delete"})},
		APIGroups: []string{pick(r, []string{"", "", "*", "apps", "config.kiosk.sh", "config.kiosk.sh"})},
		Resources: []string{pick(r, []string{"namespaces", "namespaces", "*", "namespaces/status", "*/status", "accounts", "accounts", "pods"})},
	}
	if r.IntN(3) == 0 {
		for range 1 + r.IntN(3) {
			rule.ResourceNames = append(rule.ResourceNames, pick(r, append(slices.Clone(g.namespaces[:4]), "acct-0", "acct-1")))
		}
	}
	return rule
}

func (g *generator) rules() []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for range g.r.IntN(3) {
		rules = append(rules, g.rule())
	}
	return rules
}

func (g *generator) subjects() []rbacv1.Subject {
	r := g.r
	var subs []rbacv1.Subject
	for range 1 + r.IntN(3) {
		switch r.IntN(4) {
		case 0, 1:
			subs = append(subs, user(pick(r, g.users)))
		case 2:
			subs = append(subs, group(pick(r, g.groups)))
		default:
			subs = append(subs, rbacv1.Subject{Kind: "ServiceAccount", Namespace: pick(r, []string{"", g.namespaces[0], g.namespaces[1]}), Name: "sa"})
		}
	}
	return subs
}

func (g *generator) subjectsToCheck() []Subject {
	var out []Subject
	for i, u := range g.users {
		out = append(out, Subject{User: u, Groups: []string{g.groups[i%len(g.groups)], "system:authenticated"}})
	}
	for _, ns := range g.namespaces[:2] {
		out = append(out, Subject{User: "system:serviceaccount:" + ns + ":sa",
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}})
	}
	return out
}

// mutate makes one random change to both the world and the index.
func (g *generator) mutate(w *world, x *Index, r *rv) string {
	rnd := g.r
	ns := pick(rnd, g.namespaces)
	name := fmt.Sprintf("b%d", rnd.IntN(6))
	switch rnd.IntN(12) {
	case 0:
		if w.namespaces[ns] {
			delete(w.namespaces, ns)
			x.DeleteSpace(ns, r.next())
			return "delete namespace " + ns
		}
		w.namespaces[ns] = true
		x.UpsertSpace(namespace(ns, r.next()))
		return "add namespace " + ns
	case 1, 2:
		cr := clusterRole(fmt.Sprintf("cr%d", rnd.IntN(4)), r.next(), g.rules()...)
		w.clusterRoles[cr.Name] = cr
		x.UpsertClusterRole(cr)
		return "set " + cr.Name
	case 3:
		name := fmt.Sprintf("cr%d", rnd.IntN(4))
		delete(w.clusterRoles, name)
		x.DeleteClusterRole(name, r.next())
		return "delete " + name
	case 4:
		ro := role(ns, fmt.Sprintf("r%d", rnd.IntN(2)), r.next(), g.rules()...)
		w.roles[ns+"/"+ro.Name] = ro
		x.UpsertRole(ro)
		return "set role " + ns + "/" + ro.Name
	case 5:
		name := fmt.Sprintf("r%d", rnd.IntN(2))
		delete(w.roles, ns+"/"+name)
		x.DeleteRole(ns, name, r.next())
		return "delete role " + ns + "/" + name
	case 6:
		b := clusterRoleBinding(name, r.next(), fmt.Sprintf("cr%d", rnd.IntN(4)), g.subjects()...)
		w.crbs[name] = b
		x.UpsertClusterRoleBinding(b)
		return "set crb " + name
	case 7:
		delete(w.crbs, name)
		x.DeleteClusterRoleBinding(name, r.next())
		return "delete crb " + name
	case 8, 9:
		kind, roleName := "ClusterRole", fmt.Sprintf("cr%d", rnd.IntN(4))
		if rnd.IntN(3) == 0 {
			kind, roleName = "Role", fmt.Sprintf("r%d", rnd.IntN(2))
		}
		b := roleBinding(ns, name, r.next(), kind, roleName, g.subjects()...)
		w.rbs[ns+"/"+name] = b
		x.UpsertRoleBinding(b)
		return "set rb " + ns + "/" + name
	case 10:
		delete(w.rbs, ns+"/"+name)
		x.DeleteRoleBinding(ns, name, r.next())
		return "delete rb " + ns + "/" + name
	default:
		acct := fmt.Sprintf("acct-%d", rnd.IntN(3))
		if rnd.IntN(4) == 0 {
			delete(w.accounts, acct)
			x.DeleteAccount(acct, r.next())
			return "delete " + acct
		}
		subs := g.subjects()
		w.accounts[acct] = subs
		x.UpsertAccount(acct, account(acct), subs, r.next())
		return "set " + acct
	}
}

// follower keeps what a watch has told it and checks every event makes sense.
type follower struct {
	t       *testing.T
	w       watch.Interface
	visible map[string]bool
	lastRev uint64
}

func (f *follower) catchUp(want []string, what string) {
	f.t.Helper()
	deadline := time.After(5 * time.Second)
	for !slices.Equal(f.names(), want) {
		select {
		case ev, ok := <-f.w.ResultChan():
			require.True(f.t, ok, "watch closed")
			name := ev.Object.(interface{ GetName() string }).GetName()
			rev := parseRevision(ev.Object.(interface{ GetResourceVersion() string }).GetResourceVersion())
			require.GreaterOrEqual(f.t, rev, f.lastRev, "revisions go back")
			f.lastRev = rev
			switch ev.Type {
			case watch.Added:
				require.False(f.t, f.visible[name], "ADDED for %s already seen, after %s", name, what)
				f.visible[name] = true
			case watch.Deleted:
				require.True(f.t, f.visible[name], "DELETED for %s not seen, after %s", name, what)
				delete(f.visible, name)
			case watch.Modified:
				require.True(f.t, f.visible[name], "MODIFIED for %s not seen, after %s", name, what)
			}
		case <-deadline:
			f.t.Fatalf("watch shows %v, want %v, after %s", f.names(), want, what)
		}
	}
}

func (f *follower) names() []string {
	var out []string
	for n := range f.visible {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func convertNamespace(ns *corev1.Namespace, rev uint64) runtime.Object {
	c := ns.DeepCopy()
	c.ResourceVersion = fmt.Sprint(rev)
	return c
}

func TestIndexMatchesReferenceEvaluator(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			g := &generator{
				r:          rand.New(rand.NewPCG(seed, 7)),
				namespaces: []string{"ns-0", "ns-1", "ns-2", "ns-3", "ns-4", "ns-5"},
				users:      []string{"u0", "u1", "u2", "u3", "u4"},
				groups:     []string{"g0", "g1", "system:authenticated"},
			}
			w := &world{namespaces: map[string]bool{}, accounts: map[string][]rbacv1.Subject{},
				clusterRoles: map[string]*rbacv1.ClusterRole{}, roles: map[string]*rbacv1.Role{},
				crbs: map[string]*rbacv1.ClusterRoleBinding{}, rbs: map[string]*rbacv1.RoleBinding{}}
			x := New(Options{HistorySize: 64})
			var r rv
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			followers := map[string]*follower{}
			for _, s := range g.subjectsToCheck() {
				wi, err := x.Spaces().Watch(ctx, WatchOptions[*corev1.Namespace]{Subject: s, Convert: convertNamespace}, DefaultWatchConfig)
				require.NoError(t, err)
				followers[s.User] = &follower{t: t, w: wi, visible: map[string]bool{}}
			}
			for i := range 400 {
				what := g.mutate(w, x, &r)
				spaces, accounts := x.Spaces().Snapshot(), x.Accounts().Snapshot()
				for _, s := range g.subjectsToCheck() {
					want := w.spaces(s)
					require.Equal(t, want, spaces.Names(s, false), "step %d (%s): spaces of %s", i, what, s.User)
					for _, ns := range g.namespaces {
						require.Equal(t, slices.Contains(want, ns), spaces.Visible(s, ns), "step %d (%s): %s sees %s", i, what, s.User, ns)
					}
					require.Equal(t, w.accountNames(s), accounts.Names(s, false), "step %d (%s): accounts of %s", i, what, s.User)
					followers[s.User].catchUp(want, what)
				}
			}
		})
	}
}
