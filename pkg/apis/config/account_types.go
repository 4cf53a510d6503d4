package config

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Account is a tenant: the users who may create Spaces for it, and the limits and
// templates every one of its Spaces is held to.
type Account struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is what the admin wants for this Account.
	// +optional
	Spec AccountSpec `json:"spec,omitempty"`

	// Status is what the server observes about this Account.
	// +optional
	Status AccountStatus `json:"status,omitempty"`
}

// AccountSpec describes the users of an Account and how its Spaces are made.
type AccountSpec struct {
	// Space says how Spaces of this Account are created and limited.
	// +optional
	Space AccountSpace `json:"space,omitempty"`

	// Subjects are the users, groups and service accounts of this Account. They see its
	// Spaces, may create Spaces for it, and are bound to space.clusterRole in each Space.
	// +optional
	// +listType=atomic
	Subjects []rbacv1.Subject `json:"subjects,omitempty"`
}

// AccountSpace says how the Spaces of an Account are created and limited.
type AccountSpace struct {
	// Limit is the largest number of Spaces the Account may own. Unset means no limit.
	// +optional
	Limit *int32 `json:"limit,omitempty"`

	// TemplateInstances are the mandatory templates instantiated in every Space of the
	// Account before its users get access.
	// +optional
	// +listType=atomic
	TemplateInstances []AccountTemplateInstanceTemplate `json:"templateInstances,omitempty"`

	// ClusterRole is the ClusterRole bound to the Account's subjects in each of its Spaces.
	// Unset means "admin"; the empty string means no RoleBinding is created.
	// +optional
	ClusterRole *string `json:"clusterRole,omitempty"`

	// SpaceTemplate holds labels and annotations merged into every new Space.
	// +optional
	SpaceTemplate AccountSpaceTemplate `json:"spaceTemplate,omitempty"`
}

// AccountTemplateInstanceTemplate is a TemplateInstance created in every Space of an Account.
type AccountTemplateInstanceTemplate struct {
	// Metadata of the TemplateInstance to create. An empty name means the template's name.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec of the TemplateInstance to create.
	// +optional
	Spec TemplateInstanceSpec `json:"spec,omitempty"`
}

// AccountSpaceTemplate holds the metadata merged into every new Space of an Account.
type AccountSpaceTemplate struct {
	// Metadata whose labels and annotations are added to every new Space.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`
}

// AccountStatus is what the server observes about an Account.
type AccountStatus struct {
	// Namespaces are the Spaces the Account owns.
	// +optional
	// +listType=map
	// +listMapKey=name
	Namespaces []AccountNamespaceStatus `json:"namespaces,omitempty"`

	// Conditions are the server's latest observations of the Account. SpacesBound is False
	// while a Space lacks the RoleBinding of the Account's subjects, for instance because the
	// server may not bind spec.space.clusterRole.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AccountNamespaceStatus names one Space of an Account.
type AccountNamespaceStatus struct {
	// Name of the namespace.
	Name string `json:"name"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AccountList is a list of Accounts.
type AccountList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the Accounts.
	Items []Account `json:"items"`
}
