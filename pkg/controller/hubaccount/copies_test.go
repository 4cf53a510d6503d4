package hubaccount

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

func TestSelects(t *testing.T) {
	eu := &configv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "eu", Labels: map[string]string{"region": "eu"}}}
	now := metav1.Now()
	tests := []struct {
		name     string
		clusters *configv1alpha1.AccountClusters
		deleting bool
		want     bool
	}{
		{"no clusters", nil, false, false},
		{"by name", &configv1alpha1.AccountClusters{Names: []string{"us", "eu"}}, false, true},
		{"another name", &configv1alpha1.AccountClusters{Names: []string{"us"}}, false, false},
		{"by label", &configv1alpha1.AccountClusters{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"region": "eu"}}}, false, true},
		{"other label", &configv1alpha1.AccountClusters{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"region": "us"}}}, false, false},
		{"empty selector selects all", &configv1alpha1.AccountClusters{Selector: &metav1.LabelSelector{}}, false, true},
		{"empty names select none", &configv1alpha1.AccountClusters{}, false, false},
		{"being deleted", &configv1alpha1.AccountClusters{Names: []string{"eu"}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: configv1alpha1.AccountSpec{Clusters: tt.clusters}}
			if tt.deleting {
				a.DeletionTimestamp = &now
			}
			assert.Equal(t, tt.want, Selects(a, eu))
		})
	}
}

func TestWantCopiesAnAccountWithItsQuotasAndTemplates(t *testing.T) {
	eu := &configv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "eu"}}
	uses := func(name string, templates ...string) *configv1alpha1.Account {
		a := &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: name, UID: "hub-uid", ResourceVersion: "7",
			Labels:      map[string]string{"team": name},
			Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: "{}", "note": "x"}},
			Spec: configv1alpha1.AccountSpec{Clusters: &configv1alpha1.AccountClusters{Names: []string{"eu"}}}}
		for _, tmpl := range templates {
			a.Spec.Space.TemplateInstances = append(a.Spec.Space.TemplateInstances,
				configv1alpha1.AccountTemplateInstanceTemplate{Spec: configv1alpha1.TemplateInstanceSpec{Template: tmpl}})
		}
		return a
	}
	accounts := []*configv1alpha1.Account{uses("a", "shared", "missing"), uses("b", "shared"),
		{ObjectMeta: metav1.ObjectMeta{Name: "local"}, Spec: configv1alpha1.AccountSpec{Space: configv1alpha1.AccountSpace{
			TemplateInstances: []configv1alpha1.AccountTemplateInstanceTemplate{{Spec: configv1alpha1.TemplateInstanceSpec{Template: "own"}}}}}}}
	quota := func(name, account string) *configv1alpha1.AccountQuota {
		return &configv1alpha1.AccountQuota{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: configv1alpha1.AccountQuotaSpec{Account: account}}
	}
	templates := []*configv1alpha1.Template{{ObjectMeta: metav1.ObjectMeta{Name: "shared"}}, {ObjectMeta: metav1.ObjectMeta{Name: "own"}}}
	got := Want("hub1", eu, accounts, []*configv1alpha1.AccountQuota{quota("qa", "a"), quota("ql", "local")}, templates)

	assert.Equal(t, []string{"a", "b"}, got.Selecting)
	assert.ElementsMatch(t, []string{"a", "b"}, keys(got.Accounts))
	assert.ElementsMatch(t, []string{"qa"}, keys(got.Quotas))
	assert.ElementsMatch(t, []string{"shared"}, keys(got.Templates), "a missing Template is not copied, one of another Account neither")
	a := got.Accounts["a"]
	assert.Nil(t, a.Spec.Clusters, "copies select no clusters of their own")
	assert.Equal(t, metav1.ObjectMeta{Name: "a", Labels: map[string]string{"team": "a", configv1alpha1.HubLabel: "hub1"},
		Annotations: map[string]string{"note": "x"}}, a.ObjectMeta, "the copy has the hub's labels and annotations, none of its identity")
	assert.NotNil(t, accounts[0].Spec.Clusters, "the hub's Account is not changed")
	assert.ElementsMatch(t, []string{"a", "b"}, got.Owners[Ref{"Template", "shared"}])
	assert.Equal(t, []string{"a"}, got.Owners[Ref{"AccountQuota", "qa"}])
}

func TestSameJSONIgnoresKeyOrder(t *testing.T) {
	x := map[string]any{"a": 1, "b": map[string]any{"c": "d", "e": []any{1, 2}}}
	y := map[string]any{"b": map[string]any{"e": []any{1, 2}, "c": "d"}, "a": 1}
	assert.True(t, sameJSON(x, y))
	assert.False(t, sameJSON(x, map[string]any{"a": 2}))
}

func keys[T any](m map[string]T) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	return out
}
