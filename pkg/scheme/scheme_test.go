package scheme_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

// A field selector is accepted for exactly the fields the kind's storage selects by, so that
// `kubectl get --field-selector` never passes a field the storage cannot match, nor refuses
// one it can.
func TestFieldSelectorsAreTheStoragesFields(t *testing.T) {
	for _, tc := range []struct {
		gvk    schema.GroupVersionKind
		fields fields.Set
	}{
		{configv1alpha1.SchemeGroupVersion.WithKind("Account"), nil},
		{configv1alpha1.SchemeGroupVersion.WithKind("AccountQuota"), config.AccountQuotaFields(&config.AccountQuota{})},
		{configv1alpha1.SchemeGroupVersion.WithKind("Template"), nil},
		{configv1alpha1.SchemeGroupVersion.WithKind("TemplateInstance"), config.TemplateInstanceFields(&config.TemplateInstance{})},
		{tenancyv1alpha1.SchemeGroupVersion.WithKind("Account"), nil},
		{tenancyv1alpha1.SchemeGroupVersion.WithKind("Space"), tenancy.SpaceFields(&tenancy.Space{})},
	} {
		t.Run(tc.gvk.GroupKind().String(), func(t *testing.T) {
			accepted := []string{"metadata.name", "metadata.namespace"}
			for f := range tc.fields {
				accepted = append(accepted, f)
			}
			for _, f := range accepted {
				label, value, err := scheme.Scheme.ConvertFieldLabel(tc.gvk, f, "x")
				if err != nil || label != f || value != "x" {
					t.Errorf("ConvertFieldLabel(%s) = %q, %q, %v; want it accepted unchanged", f, label, value, err)
				}
			}
			for _, f := range []string{"spec.account", "spec.template", "status.phase", "spec.other"} {
				if tc.fields.Has(f) {
					continue
				}
				_, _, err := scheme.Scheme.ConvertFieldLabel(tc.gvk, f, "x")
				want := "field label not supported for " + tc.gvk.Kind + ": " + f
				if err == nil || err.Error() != want {
					t.Errorf("ConvertFieldLabel(%s) error = %v, want %q", f, err, want)
				}
			}
		})
	}
}
