// Package accesstest builds access indexes shaped like real clusters, for benchmarks of the
// index and of the storage built on it.
package accesstest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
)

// The benchmark cluster: 5,000 RoleBindings (BuildWith: any number), 500 ClusterRoleBindings and 1,000 users in 50
// groups over any number of namespaces. The user "bench" sees exactly Visible Spaces.
const (
	RoleBindings        = 5000
	ClusterRoleBindings = 500
	Users               = 1000
	Groups              = 50
	Visible             = 10
)

// Subject is the user who sees Visible Spaces.
var Subject = access.Subject{User: "bench", Groups: []string{"group-0", "system:authenticated"}}

// Revisions hands out increasing resourceVersions, as kube-apiserver would.
type Revisions struct{ N uint64 }

// Next returns the next resourceVersion.
func (r *Revisions) Next() string { r.N++; return strconv.FormatUint(r.N, 10) }

func getRule(resource string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{resource}, ResourceNames: names}
}

func subject(kind, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: kind, APIGroup: rbacv1.GroupName, Name: name}
}

// RoleBinding binds a ClusterRole to a subject in a namespace.
func RoleBinding(namespace, name, rv, clusterRole string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, ResourceVersion: rv},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole}, Subjects: subjects}
}

// Group is a Group subject.
func Group(name string) rbacv1.Subject { return subject("Group", name) }

// User is a User subject.
func User(name string) rbacv1.Subject { return subject("User", name) }

// Build returns an index over n namespaces, all Spaces, with the RBAC described above,
// loaded in place before its first snapshot is published, as the server loads it.
func Build(n int) *access.Index { return BuildWith(n, RoleBindings) }

// BuildIncremental is Build with every object published as it is added, as changes after
// the start are: the baseline of the loaded index.
func BuildIncremental(n int) *access.Index { return build(n, RoleBindings, false) }

var (
	builtMu sync.Mutex
	built   = map[[2]int]*access.Index{}
)

// Shared is BuildWith(n, roleBindings), built once per process: for benchmarks that only
// read the index, whose function the testing package calls again for each b.N.
func Shared(n, roleBindings int) *access.Index {
	builtMu.Lock()
	defer builtMu.Unlock()
	key := [2]int{n, roleBindings}
	if built[key] == nil {
		built[key] = BuildWith(n, roleBindings)
	}
	return built[key]
}

// BuildWith is Build with roleBindings RoleBindings of the ClusterRole admin instead of
// RoleBindings.
func BuildWith(n, roleBindings int) *access.Index { return build(n, roleBindings, true) }

func build(n, roleBindings int, load bool) *access.Index {
	r := rand.New(rand.NewPCG(1, 2))
	var v Revisions
	x := access.New(access.Options{Load: load})
	x.UpsertClusterRole(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "admin", ResourceVersion: v.Next()},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}})
	x.UpsertClusterRole(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "view", ResourceVersion: v.Next()},
		Rules: []rbacv1.PolicyRule{getRule("namespaces"), getRule("pods")}})
	for i := range 50 {
		// Cluster-wide roles that grant no namespace, or one by name.
		rules := []rbacv1.PolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods", "configmaps"}}}
		if i%10 == 0 {
			rules = append(rules, getRule("namespaces", fmt.Sprintf("ns-%d", i)))
		}
		x.UpsertClusterRole(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cluster-%d", i), ResourceVersion: v.Next()}, Rules: rules})
	}
	for i := range n {
		x.UpsertSpace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ns-%d", i), ResourceVersion: v.Next(),
			Labels: map[string]string{"kiosk.sh/account": fmt.Sprintf("account-%d", i%100)}}})
	}
	for i := range roleBindings {
		ns := fmt.Sprintf("ns-%d", r.IntN(n))
		s := User(fmt.Sprintf("user-%d", 1+r.IntN(Users-1)))
		if i%10 == 0 {
			s = Group(fmt.Sprintf("group-%d", 1+r.IntN(Groups-1)))
		}
		x.UpsertRoleBinding(RoleBinding(ns, fmt.Sprintf("rb-%d", i), v.Next(), "admin", s))
	}
	for i := range ClusterRoleBindings {
		x.UpsertClusterRoleBinding(&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("crb-%d", i), ResourceVersion: v.Next()},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: fmt.Sprintf("cluster-%d", i%50)},
			Subjects:   []rbacv1.Subject{User(fmt.Sprintf("user-%d", r.IntN(Users))), Group(fmt.Sprintf("group-%d", 1+r.IntN(Groups-1)))},
		})
	}
	for i := range Visible {
		x.UpsertRoleBinding(RoleBinding(fmt.Sprintf("ns-%d", i*n/Visible), "bench", v.Next(), "view", User("bench")))
	}
	x.MarkReady()
	return x
}

// ReportScale reports the medians of the same operation timed in turns at 1,000 and at
// 100,000 namespaces, and their ratio.
func ReportScale(b *testing.B, small, large []time.Duration) {
	slices.Sort(small)
	slices.Sort(large)
	b.ReportMetric(float64(small[len(small)/2].Nanoseconds())/1e3, "1k-p50-µs")
	b.ReportMetric(float64(large[len(large)/2].Nanoseconds())/1e3, "100k-p50-µs")
	b.ReportMetric(float64(large[len(large)/2])/float64(small[len(small)/2]), "ratio-p50")
}
