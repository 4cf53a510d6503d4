package hubaccount

import (
	"maps"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// Selects reports whether Account a selects member c: c is one of spec.clusters.names, or
// its labels match spec.clusters.selector. An Account being deleted selects nothing.
func Selects(a *configv1alpha1.Account, c *configv1alpha1.Cluster) bool {
	sel := a.Spec.Clusters
	if sel == nil || a.DeletionTimestamp != nil {
		return false
	}
	for _, n := range sel.Names {
		if n == c.Name {
			return true
		}
	}
	if sel.Selector == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel.Selector)
	return err == nil && s.Matches(labels.Set(c.Labels))
}

// Copies are the objects a hub keeps in one member: the Accounts that select it, their
// AccountQuotas (those whose spec.account names one of them) and their Templates (those
// their space.templateInstances name), each with the hub Accounts it belongs to.
type Copies struct {
	Accounts  map[string]*configv1alpha1.Account
	Quotas    map[string]*configv1alpha1.AccountQuota
	Templates map[string]*configv1alpha1.Template
	// Owners are, for each object by Ref, the names of the hub Accounts it is copied for.
	Owners map[Ref][]string
	// Selecting are the names of the hub Accounts that select the member, sorted.
	Selecting []string
}

// Ref names one copied object.
type Ref struct {
	Kind string
	Name string
}

// Want computes the copies member c should hold, marked with hub's label.
func Want(hub string, c *configv1alpha1.Cluster, accounts []*configv1alpha1.Account,
	quotas []*configv1alpha1.AccountQuota, templates []*configv1alpha1.Template) Copies {
	out := Copies{Accounts: map[string]*configv1alpha1.Account{}, Quotas: map[string]*configv1alpha1.AccountQuota{},
		Templates: map[string]*configv1alpha1.Template{}, Owners: map[Ref][]string{}}
	templatesByName := map[string]*configv1alpha1.Template{}
	for _, t := range templates {
		templatesByName[t.Name] = t
	}
	own := func(r Ref, account string) {
		for _, o := range out.Owners[r] {
			if o == account {
				return
			}
		}
		out.Owners[r] = append(out.Owners[r], account)
	}
	for _, a := range accounts {
		if !Selects(a, c) {
			continue
		}
		out.Selecting = append(out.Selecting, a.Name)
		cp := &configv1alpha1.Account{ObjectMeta: copyMeta(hub, a.ObjectMeta), Spec: *a.Spec.DeepCopy()}
		cp.Spec.Clusters = nil
		out.Accounts[a.Name] = cp
		own(Ref{"Account", a.Name}, a.Name)
		for _, ti := range a.Spec.Space.TemplateInstances {
			t, ok := templatesByName[ti.Spec.Template]
			if !ok {
				continue
			}
			out.Templates[t.Name] = &configv1alpha1.Template{ObjectMeta: copyMeta(hub, t.ObjectMeta),
				Resources: *t.Resources.DeepCopy(), Parameters: t.DeepCopy().Parameters, AllowClusterScoped: t.AllowClusterScoped}
			own(Ref{"Template", t.Name}, a.Name)
		}
	}
	for _, q := range quotas {
		if _, ok := out.Accounts[q.Spec.Account]; !ok || q.DeletionTimestamp != nil {
			continue
		}
		out.Quotas[q.Name] = &configv1alpha1.AccountQuota{ObjectMeta: copyMeta(hub, q.ObjectMeta), Spec: *q.Spec.DeepCopy()}
		own(Ref{"AccountQuota", q.Name}, q.Spec.Account)
	}
	sort.Strings(out.Selecting)
	return out
}

// copyMeta is the metadata of a copy: the name, labels and annotations of the hub's object
// (without kubectl's last applied configuration, which describes the hub's object), and the
// hub's label.
func copyMeta(hub string, m metav1.ObjectMeta) metav1.ObjectMeta {
	l := maps.Clone(m.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l[configv1alpha1.HubLabel] = hub
	a := maps.Clone(m.Annotations)
	delete(a, corev1.LastAppliedConfigAnnotation)
	if len(a) == 0 {
		a = nil
	}
	return metav1.ObjectMeta{Name: m.Name, Labels: l, Annotations: a}
}

// sameMeta reports whether a copy's labels and annotations are those wanted.
func sameMeta(want, got metav1.ObjectMeta) bool {
	return maps.Equal(want.Labels, got.Labels) && maps.Equal(want.Annotations, got.Annotations)
}
