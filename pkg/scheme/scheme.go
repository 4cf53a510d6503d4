// Package scheme holds the runtime.Scheme of every type tenancy-apiserver serves, and its
// codecs. It imports only the API packages, so that storage, admission and their tests
// share the server's scheme without importing the server.
package scheme

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configinstall "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/install"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	tenancyinstall "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/install"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
)

var (
	// Scheme holds every type this server serves, internal and versioned.
	Scheme = runtime.NewScheme()
	// Codecs encodes and decodes the types in Scheme.
	Codecs = serializer.NewCodecFactory(Scheme)
)

// fieldSelectors are the field selectors each kind supports besides metadata.name (and
// metadata.namespace for namespaced kinds): the fields its storage selects by, named once in
// the API packages.
var fieldSelectors = map[schema.GroupVersionKind]fields.Set{
	configv1alpha1.SchemeGroupVersion.WithKind("AccountQuota"):     config.AccountQuotaFields(&config.AccountQuota{}),
	configv1alpha1.SchemeGroupVersion.WithKind("TemplateInstance"): config.TemplateInstanceFields(&config.TemplateInstance{}),
	tenancyv1alpha1.SchemeGroupVersion.WithKind("Space"):           tenancy.SpaceFields(&tenancy.Space{}),
}

func init() {
	configinstall.Install(Scheme)
	tenancyinstall.Install(Scheme)
	for _, gv := range []schema.GroupVersion{configv1alpha1.SchemeGroupVersion, tenancyv1alpha1.SchemeGroupVersion} {
		for kind := range Scheme.KnownTypes(gv) {
			gvk := gv.WithKind(kind)
			utilruntime.Must(Scheme.AddFieldLabelConversionFunc(gvk, fieldLabelConversion(gvk, fieldSelectors[gvk])))
		}
	}

	// The generic server needs the meta types in the unversioned group.
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	Scheme.AddUnversionedTypes(unversioned,
		&metav1.Status{},
		&metav1.APIVersions{},
		&metav1.APIGroupList{},
		&metav1.APIGroup{},
		&metav1.APIResourceList{},
	)
}

func fieldLabelConversion(gvk schema.GroupVersionKind, extra fields.Set) runtime.FieldLabelConversionFunc {
	return func(label, value string) (string, string, error) {
		switch label {
		case "metadata.name", "metadata.namespace":
			return label, value, nil
		}
		if extra.Has(label) {
			return label, value, nil
		}
		return "", "", fmt.Errorf("field label not supported for %s: %s", gvk.Kind, label)
	}
}
