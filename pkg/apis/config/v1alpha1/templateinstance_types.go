package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NoOwnerAnnotation on a TemplateInstance keeps the objects it created when it is deleted.
const NoOwnerAnnotation = "templateinstance.config.kiosk.sh/no-owner"

// MandatoryAnnotation marks a TemplateInstance an Account requires in each of its Spaces.
// Such instances need no `use` permission on their Template, and only admins of the
// Account change or delete them.
const MandatoryAnnotation = "templateinstance.config.kiosk.sh/mandatory"

// RequesterAnnotation records the user who created a TemplateInstance, or changed its spec
// last, as the JSON of an authentication.k8s.io/v1 UserInfo (username, uid, groups, extra).
// The server sets it; no client sets or changes it. Roles and bindings of the instance's
// Template are applied only if this user could create them.
const RequesterAnnotation = "templateinstance.config.kiosk.sh/requester"

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// TemplateInstance applies a Template to the namespace it lives in.
type TemplateInstance struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec names the Template and its parameter values.
	// +optional
	Spec TemplateInstanceSpec `json:"spec,omitempty"`

	// Status says whether the Template was applied, and what was applied.
	// +optional
	Status TemplateInstanceStatus `json:"status,omitempty"`
}

// TemplateInstanceSpec names the Template and its parameter values.
type TemplateInstanceSpec struct {
	// Template is the name of the Template to apply. It cannot be changed.
	Template string `json:"template"`

	// Sync re-applies the Template when it changes, and removes objects dropped from it.
	// +optional
	Sync bool `json:"sync,omitempty"`

	// Parameters are values for the Template's parameters.
	// +optional
	// +listType=map
	// +listMapKey=name
	Parameters []TemplateInstanceParameter `json:"parameters,omitempty"`
}

// TemplateInstanceParameter is the value of one Template parameter.
type TemplateInstanceParameter struct {
	// Name of the parameter.
	Name string `json:"name"`

	// Value of the parameter.
	// +optional
	Value string `json:"value,omitempty"`
}

// TemplateInstanceDeploymentStatus is the state of a TemplateInstance.
type TemplateInstanceDeploymentStatus string

const (
	// TemplateInstanceStatusPending means the Template has not been applied yet.
	TemplateInstanceStatusPending TemplateInstanceDeploymentStatus = "Pending"
	// TemplateInstanceStatusDeployed means every object of the Template was applied.
	TemplateInstanceStatusDeployed TemplateInstanceDeploymentStatus = "Deployed"
	// TemplateInstanceStatusFailed means applying the Template failed; reason and message say why.
	TemplateInstanceStatusFailed TemplateInstanceDeploymentStatus = "Failed"
)

// TemplateInstanceStatus says whether the Template was applied, and what was applied.
type TemplateInstanceStatus struct {
	// Status is Pending, Deployed or Failed.
	// +optional
	Status TemplateInstanceDeploymentStatus `json:"status,omitempty"`

	// Reason is a CamelCase word saying why the instance is in this state.
	// +optional
	Reason string `json:"reason,omitempty"`

	// Message is a human-readable explanation of the state.
	// +optional
	Message string `json:"message,omitempty"`

	// TemplateResourceVersion is the resourceVersion of the Template last applied.
	// +optional
	TemplateResourceVersion string `json:"templateResourceVersion,omitempty"`

	// TemplateManifests are the rendered manifests last applied, gzipped and base64-encoded.
	// +optional
	TemplateManifests string `json:"templateManifests,omitempty"`

	// LastAppliedAt is when the Template was last applied.
	// +optional
	LastAppliedAt *metav1.Time `json:"lastAppliedAt,omitempty"`

	// AppliedObjects are the objects the instance created or keeps up to date.
	// +optional
	// +listType=atomic
	AppliedObjects []AppliedObject `json:"appliedObjects,omitempty"`
}

// AppliedObject identifies one object applied by a TemplateInstance.
type AppliedObject struct {
	// APIVersion of the object.
	APIVersion string `json:"apiVersion"`
	// Kind of the object.
	Kind string `json:"kind"`
	// Namespace of the object; empty for cluster-scoped objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the object.
	Name string `json:"name"`
	// UID of the object when it was applied.
	// +optional
	UID string `json:"uid,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// TemplateInstanceList is a list of TemplateInstances.
type TemplateInstanceList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the TemplateInstances.
	Items []TemplateInstance `json:"items"`
}
