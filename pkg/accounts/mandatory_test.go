package accounts

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

func TestMandatoryDrift(t *testing.T) {
	account := &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
	account.Spec.Space.TemplateInstances = []configv1alpha1.AccountTemplateInstanceTemplate{{Spec: configv1alpha1.TemplateInstanceSpec{Template: "quota"}}}
	want := Mandatory(account, "ns")[0]
	for _, tc := range []struct {
		name   string
		mutate func(*configv1alpha1.TemplateInstance)
		drift  string
	}{
		{name: "same", mutate: func(*configv1alpha1.TemplateInstance) {}},
		{name: "empty parameters are no parameters", mutate: func(ti *configv1alpha1.TemplateInstance) {
			ti.Spec.Parameters = []configv1alpha1.TemplateInstanceParameter{}
		}},
		{name: "status and other metadata do not count", mutate: func(ti *configv1alpha1.TemplateInstance) {
			ti.Status.Status, ti.Labels["team"], ti.Finalizers = configv1alpha1.TemplateInstanceStatusFailed, "red", []string{"config.kiosk.sh/templateinstance-cleanup"}
		}},
		{name: "template", drift: "spec.template", mutate: func(ti *configv1alpha1.TemplateInstance) { ti.Spec.Template = "other" }},
		{name: "parameters", drift: "spec.parameters", mutate: func(ti *configv1alpha1.TemplateInstance) {
			ti.Spec.Parameters = []configv1alpha1.TemplateInstanceParameter{{Name: "PODS", Value: "100"}}
		}},
		{name: "sync", drift: "spec.sync", mutate: func(ti *configv1alpha1.TemplateInstance) { ti.Spec.Sync = true }},
		{name: "account label", drift: "metadata.labels[kiosk.sh/account]", mutate: func(ti *configv1alpha1.TemplateInstance) {
			delete(ti.Labels, configv1alpha1.AccountLabel)
		}},
		{name: "mandatory annotation", drift: "metadata.annotations[" + configv1alpha1.MandatoryAnnotation + "]", mutate: func(ti *configv1alpha1.TemplateInstance) {
			ti.Annotations = nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			have := want.DeepCopy()
			tc.mutate(have)
			if got := MandatoryDrift(have, want); got != tc.drift {
				t.Errorf("MandatoryDrift = %q, want %q", got, tc.drift)
			}
		})
	}
}
