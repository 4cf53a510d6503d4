package apiserver

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	configinstall "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/install"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	tenancyinstall "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/install"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
)

var (
	// Scheme holds every type this server serves, internal and versioned.
	Scheme = runtime.NewScheme()
	// Codecs encodes and decodes the types in Scheme.
	Codecs = serializer.NewCodecFactory(Scheme)
)

// fieldSelectors are the field selectors each kind supports besides metadata.name
// (and metadata.namespace for namespaced kinds).
var fieldSelectors = map[schema.GroupVersionKind][]string{
	configv1alpha1.SchemeGroupVersion.WithKind("AccountQuota"):     {"spec.account"},
	configv1alpha1.SchemeGroupVersion.WithKind("TemplateInstance"): {"spec.template"},
	tenancyv1alpha1.SchemeGroupVersion.WithKind("Space"):           {"spec.account", "status.phase"},
}

func init() {
	configinstall.Install(Scheme)
	tenancyinstall.Install(Scheme)
	for _, gv := range []schema.GroupVersion{configv1alpha1.SchemeGroupVersion, tenancyv1alpha1.SchemeGroupVersion} {
		for kind := range Scheme.KnownTypes(gv) {
			gvk := gv.WithKind(kind)
			extra := fieldSelectors[gvk]
			utilruntime.Must(Scheme.AddFieldLabelConversionFunc(gvk, fieldLabelConversion(gvk, extra)))
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

// jsonAndYAML offers every serializer of a codec factory but protobuf. This server's types
// have no protobuf form; a client asking for protobuf first (as kube-controller-manager's
// namespace and garbage collectors do) is then answered in JSON instead of failing.
type jsonAndYAML struct {
	runtime.NegotiatedSerializer
}

// SupportedMediaTypes leaves out protobuf.
func (s jsonAndYAML) SupportedMediaTypes() []runtime.SerializerInfo {
	var out []runtime.SerializerInfo
	for _, info := range s.NegotiatedSerializer.SupportedMediaTypes() {
		if info.MediaType != runtime.ContentTypeProtobuf {
			out = append(out, info)
		}
	}
	return out
}

// NegotiatedSerializer serves this server's API groups.
var NegotiatedSerializer runtime.NegotiatedSerializer = jsonAndYAML{Codecs}

func fieldLabelConversion(gvk schema.GroupVersionKind, extra []string) runtime.FieldLabelConversionFunc {
	return func(label, value string) (string, string, error) {
		switch label {
		case "metadata.name", "metadata.namespace":
			return label, value, nil
		}
		for _, f := range extra {
			if f == label {
				return label, value, nil
			}
		}
		return "", "", fmt.Errorf("field label not supported for %s: %s", gvk.Kind, label)
	}
}
