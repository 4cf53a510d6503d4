package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Space is a namespace owned by an Account, as seen by the users who may use it.
type Space struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata: the namespace's metadata, without the kiosk.sh/account label.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec names the owning Account.
	// +optional
	Spec SpaceSpec `json:"spec,omitempty"`

	// Status is the namespace's status.
	// +optional
	Status SpaceStatus `json:"status,omitempty"`
}

// SpaceSpec names the Account that owns a Space.
type SpaceSpec struct {
	// Account is the name of the Account that owns the Space. It cannot be changed.
	// +optional
	Account string `json:"account,omitempty"`

	// Finalizers are the namespace's spec finalizers.
	// +optional
	// +listType=atomic
	Finalizers []corev1.FinalizerName `json:"finalizers,omitempty"`

	// Cluster is the member cluster of a hub the Space lives in: the name of a
	// config.kiosk.sh Cluster. Empty means the cluster of the server asked. It cannot be
	// changed.
	// +optional
	Cluster string `json:"cluster,omitempty"`
}

// SpaceStatus is the status of a Space's namespace.
type SpaceStatus struct {
	// Phase is the namespace phase: Active or Terminating.
	// +optional
	Phase corev1.NamespacePhase `json:"phase,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// SpaceList is a list of Spaces.
type SpaceList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the Spaces.
	Items []Space `json:"items"`
}

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Account is a config.kiosk.sh Account as seen by its users. Admins may write it too;
// writes go to the config.kiosk.sh Account of the same name.
type Account struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the Account's spec.
	// +optional
	Spec configv1alpha1.AccountSpec `json:"spec,omitempty"`

	// Status is the Account's status.
	// +optional
	Status configv1alpha1.AccountStatus `json:"status,omitempty"`
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
