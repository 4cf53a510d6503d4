package templateinstance

import (
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// The objects of a mandatory instance carry the protected label; those of a tenant's
// instance never do, even when its Template sets it.
func TestMarkProtected(t *testing.T) {
	mandatory := &configv1alpha1.TemplateInstance{ObjectMeta: metav1.ObjectMeta{
		Annotations: map[string]string{configv1alpha1.MandatoryAnnotation: "true"}}}
	tenants := &configv1alpha1.TemplateInstance{}
	for _, tc := range []struct {
		name   string
		ti     *configv1alpha1.TemplateInstance
		labels map[string]string
		want   map[string]string
	}{
		{name: "mandatory, no labels", ti: mandatory, want: map[string]string{configv1alpha1.ProtectedLabel: "true"}},
		{name: "mandatory keeps the template's labels", ti: mandatory, labels: map[string]string{"app": "x"},
			want: map[string]string{"app": "x", configv1alpha1.ProtectedLabel: "true"}},
		{name: "tenant's instance", ti: tenants, labels: map[string]string{"app": "x"}, want: map[string]string{"app": "x"}},
		{name: "tenant's instance loses a forged label", ti: tenants,
			labels: map[string]string{"app": "x", configv1alpha1.ProtectedLabel: "true"}, want: map[string]string{"app": "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}
			obj.SetLabels(tc.labels)
			markProtected(tc.ti, obj)
			got := obj.GetLabels()
			if len(tc.want) == 0 {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
