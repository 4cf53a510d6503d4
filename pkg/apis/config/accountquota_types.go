package config

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AccountQuota limits the resources used by all Spaces of one Account together, with
// the semantics of a ResourceQuota summed over the Account's namespaces.
type AccountQuota struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the Account and the quota it is held to.
	// +optional
	Spec AccountQuotaSpec `json:"spec,omitempty"`

	// Status is the usage observed and charged against the quota.
	// +optional
	Status AccountQuotaStatus `json:"status,omitempty"`
}

// AccountQuotaSpec names the Account and the quota it is held to.
type AccountQuotaSpec struct {
	// Account is the name of the Account this quota applies to. It cannot be changed.
	Account string `json:"account,omitempty"`

	// Quota is the hard limits, scopes and scope selector, as in a ResourceQuota.
	// +optional
	Quota corev1.ResourceQuotaSpec `json:"quota,omitempty"`
}

// AccountQuotaStatus is the usage of an Account summed over its Spaces, and per Space.
type AccountQuotaStatus struct {
	// Total is the enforced hard limits and the usage summed over all Spaces of the Account.
	// +optional
	Total corev1.ResourceQuotaStatus `json:"total,omitempty"`

	// Namespaces is the usage of each Space of the Account.
	// +optional
	// +listType=map
	// +listMapKey=namespace
	Namespaces []AccountQuotaStatusByNamespace `json:"namespaces,omitempty"`
}

// AccountQuotaStatusByNamespace is the usage of one Space.
type AccountQuotaStatusByNamespace struct {
	// Namespace is the name of the Space.
	Namespace string `json:"namespace"`

	// Status is the usage in that Space.
	// +optional
	Status corev1.ResourceQuotaStatus `json:"status,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AccountQuotaList is a list of AccountQuotas.
type AccountQuotaList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the AccountQuotas.
	Items []AccountQuota `json:"items"`
}
