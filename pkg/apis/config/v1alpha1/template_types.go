package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// AllowedRolesAnnotation on a Template lists, comma-separated, the roles its RoleBindings
// and ClusterRoleBindings may bind, and the Roles and ClusterRoles it may create, for any
// user who may use it: "ClusterRole/<name>", "Role/<name>", or a bare name for either kind.
// Other roles are applied only if the TemplateInstance's requester could create them.
const AllowedRolesAnnotation = "template.config.kiosk.sh/allowed-roles"

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Template is a set of objects, with parameters, that a TemplateInstance applies to a Space.
type Template struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Resources are the objects the Template creates.
	// +optional
	Resources TemplateResources `json:"resources,omitempty"`

	// Parameters replace parts of the Template. ${NAME} inside a string is replaced by the
	// value; ${{NAME}} as a whole value is replaced by the value parsed as YAML; $${ escapes.
	// Predefined: ${NAMESPACE}, ${ACCOUNT}, ${namespace.metadata.labels.X},
	// ${namespace.metadata.annotations.X}, ${account.metadata.labels.X} and
	// ${account.metadata.annotations.X}.
	// +optional
	// +listType=map
	// +listMapKey=name
	Parameters []TemplateParameter `json:"parameters,omitempty"`

	// AllowClusterScoped lets the Template contain cluster-scoped objects. Without it such
	// objects are refused, so that a tenant can never have objects applied outside their Space.
	// +optional
	AllowClusterScoped bool `json:"allowClusterScoped,omitempty"`
}

// TemplateResources are the objects of a Template.
type TemplateResources struct {
	// Manifests are Kubernetes objects applied to the target namespace.
	// +optional
	// +listType=atomic
	Manifests []runtime.RawExtension `json:"manifests,omitempty"`

	// Helm renders a Helm chart whose objects are applied together with the manifests.
	// +optional
	Helm *HelmConfiguration `json:"helm,omitempty"`
}

// TemplateParameter is a parameter of a Template.
type TemplateParameter struct {
	// Name of the parameter, referenced as ${NAME}.
	Name string `json:"name"`

	// Value is the default value.
	// +optional
	Value string `json:"value,omitempty"`

	// Required parameters must have a value, from the instance or the default.
	// +optional
	Required bool `json:"required,omitempty"`

	// Validation is a regular expression the whole value must match.
	// +optional
	Validation string `json:"validation,omitempty"`
}

// HelmConfiguration says which Helm chart to render and with which values.
type HelmConfiguration struct {
	// ReleaseName of the rendered release. Defaults to the Template name.
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`

	// SetValues are name=value pairs, as helm --set and --set-string.
	// +optional
	// +listType=atomic
	SetValues []HelmSetValue `json:"setValues,omitempty"`

	// Values is a YAML block of chart values. Template parameters are substituted in it.
	// +optional
	Values string `json:"values,omitempty"`

	// Chart says where to find the chart.
	// +optional
	Chart HelmChart `json:"chart,omitempty"`
}

// HelmChart says where to find a chart.
type HelmChart struct {
	// Repository is the chart repository (HTTP or oci://) that serves the chart.
	// +optional
	Repository *HelmChartRepository `json:"repository,omitempty"`
}

// HelmChartRepository names a chart in a chart repository.
type HelmChartRepository struct {
	// Name of the chart.
	Name string `json:"name"`

	// Version of the chart. Empty means the latest.
	// +optional
	Version string `json:"version,omitempty"`

	// RepoURL is the URL of the chart repository.
	// +optional
	RepoURL string `json:"repoUrl,omitempty"`

	// Username for the repository, read from a Secret.
	// +optional
	Username *HelmSecretRef `json:"username,omitempty"`

	// Password for the repository, read from a Secret.
	// +optional
	Password *HelmSecretRef `json:"password,omitempty"`
}

// HelmSecretRef points at one key of a Secret.
type HelmSecretRef struct {
	// Key in the Secret's data.
	Key string `json:"key"`
	// Name of the Secret.
	Name string `json:"name"`
	// Namespace of the Secret.
	Namespace string `json:"namespace"`
}

// HelmSetValue is one name=value pair passed to the chart.
type HelmSetValue struct {
	// Name is the path of the value to set.
	Name string `json:"name"`

	// Value to set.
	Value string `json:"value"`

	// ForceString sets the value as a string (helm --set-string).
	// +optional
	ForceString bool `json:"forceString,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// TemplateList is a list of Templates.
type TemplateList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the Templates.
	Items []Template `json:"items"`
}
