package accounts

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

const nodeConditions = `{"key":"node.kubernetes.io/not-ready","operator":"Exists"},{"key":"node.kubernetes.io/unreachable","operator":"Exists"},` +
	`{"key":"node.kubernetes.io/unschedulable","operator":"Exists"},{"key":"node.kubernetes.io/memory-pressure","operator":"Exists"},` +
	`{"key":"node.kubernetes.io/disk-pressure","operator":"Exists"},{"key":"node.kubernetes.io/pid-pressure","operator":"Exists"},` +
	`{"key":"node.kubernetes.io/network-unavailable","operator":"Exists"}`

func TestIsolation(t *testing.T) {
	for _, tc := range []struct {
		name        string
		isolation   configv1alpha1.AccountIsolation
		labels      map[string]string
		annotations map[string]string
	}{
		{name: "none", labels: map[string]string{}, annotations: map[string]string{}},
		{
			name:      "enforce alone sets warn, audit and latest versions",
			isolation: configv1alpha1.AccountIsolation{PodSecurity: &configv1alpha1.AccountPodSecurity{Enforce: "restricted"}},
			labels: map[string]string{
				"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
				"pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "latest",
				"pod-security.kubernetes.io/audit": "restricted", "pod-security.kubernetes.io/audit-version": "latest",
			},
			annotations: map[string]string{},
		},
		{
			name: "every level and a version",
			isolation: configv1alpha1.AccountIsolation{PodSecurity: &configv1alpha1.AccountPodSecurity{
				Enforce: "baseline", Warn: "restricted", Audit: "privileged", Version: "v1.30"}},
			labels: map[string]string{
				"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.30",
				"pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "v1.30",
				"pod-security.kubernetes.io/audit": "privileged", "pod-security.kubernetes.io/audit-version": "v1.30",
			},
			annotations: map[string]string{},
		},
		{
			name: "nodes",
			isolation: configv1alpha1.AccountIsolation{Nodes: &configv1alpha1.AccountNodeIsolation{
				NodeSelector: map[string]string{"node-restriction.kubernetes.io/tenant": "a", "b": "2"},
				Tolerations:  []corev1.Toleration{{Key: "tenant", Operator: corev1.TolerationOpEqual, Value: "a", Effect: corev1.TaintEffectNoSchedule}},
			}},
			labels: map[string]string{},
			annotations: map[string]string{
				NodeSelectorAnnotation:         "b=2,node-restriction.kubernetes.io/tenant=a",
				DefaultTolerationsAnnotation:   `[{"key":"tenant","operator":"Equal","value":"a","effect":"NoSchedule"}]`,
				TolerationsWhitelistAnnotation: `[{"key":"tenant","operator":"Equal","value":"a","effect":"NoSchedule"},` + nodeConditions + `]`,
			},
		},
		{
			name:        "nodes without tolerations allow only the node conditions",
			isolation:   configv1alpha1.AccountIsolation{Nodes: &configv1alpha1.AccountNodeIsolation{}},
			labels:      map[string]string{},
			annotations: map[string]string{TolerationsWhitelistAnnotation: `[` + nodeConditions + `]`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Isolation(&configv1alpha1.Account{Spec: configv1alpha1.AccountSpec{Isolation: tc.isolation}})
			assert.Equal(t, tc.labels, got.Labels)
			assert.Equal(t, tc.annotations, got.Annotations)
		})
	}
}

func TestApplyIsolation(t *testing.T) {
	restricted := Isolation(&configv1alpha1.Account{Spec: configv1alpha1.AccountSpec{Isolation: configv1alpha1.AccountIsolation{
		PodSecurity: &configv1alpha1.AccountPodSecurity{Enforce: "restricted"},
		Nodes:       &configv1alpha1.AccountNodeIsolation{NodeSelector: map[string]string{"pool": "a"}},
	}}})
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "s", Labels: map[string]string{
		configv1alpha1.AccountLabel: "a", "team": "red",
		"pod-security.kubernetes.io/enforce": "privileged", // a tenant's or an old admin's value: the Account's wins
	}}}
	assert.True(t, ApplyIsolation(ns, restricted))
	assert.Equal(t, "restricted", ns.Labels["pod-security.kubernetes.io/enforce"])
	assert.Equal(t, "red", ns.Labels["team"])
	assert.Equal(t, "pool=a", ns.Annotations[NodeSelectorAnnotation])
	assert.Equal(t, "annotations/"+NodeSelectorAnnotation+",annotations/"+TolerationsWhitelistAnnotation+
		",labels/pod-security.kubernetes.io/audit,labels/pod-security.kubernetes.io/audit-version"+
		",labels/pod-security.kubernetes.io/enforce,labels/pod-security.kubernetes.io/enforce-version"+
		",labels/pod-security.kubernetes.io/warn,labels/pod-security.kubernetes.io/warn-version",
		ns.Annotations[configv1alpha1.IsolationKeysAnnotation])
	assert.False(t, ApplyIsolation(ns, restricted), "applying again changes nothing")

	// An admin's own key of a name the Account does not set stays when the setting goes.
	ns.Annotations[DefaultTolerationsAnnotation] = "[]"
	assert.True(t, ApplyIsolation(ns, SpaceIsolation{Labels: map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}}))
	assert.Equal(t, map[string]string{configv1alpha1.AccountLabel: "a", "team": "red", "pod-security.kubernetes.io/enforce": "baseline"}, ns.Labels)
	assert.Equal(t, map[string]string{DefaultTolerationsAnnotation: "[]",
		configv1alpha1.IsolationKeysAnnotation: "labels/pod-security.kubernetes.io/enforce"}, ns.Annotations)

	// No isolation: what the server set goes, and so does its record.
	assert.True(t, ApplyIsolation(ns, SpaceIsolation{}))
	assert.Equal(t, map[string]string{configv1alpha1.AccountLabel: "a", "team": "red"}, ns.Labels)
	assert.Equal(t, map[string]string{DefaultTolerationsAnnotation: "[]"}, ns.Annotations)
	assert.False(t, ApplyIsolation(ns, SpaceIsolation{}))

	plain := &corev1.Namespace{}
	assert.False(t, ApplyIsolation(plain, SpaceIsolation{}), "a namespace without isolation stays as it is")
	assert.Nil(t, plain.Labels)
}
