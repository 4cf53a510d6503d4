package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ClusterLabel is the label that names, on a Space listed by a hub, the member cluster the
// Space lives in. Spaces of the hub's own cluster have none.
const ClusterLabel = "kiosk.sh/cluster"

// ClusterServerAnnotation gives, on a Space listed by a hub, the https URL of the
// kube-apiserver of the member cluster the Space lives in (the Cluster's spec.server): where
// the Space's users work in it, with their own credentials for that cluster.
const ClusterServerAnnotation = "kiosk.sh/cluster-server"

// HubLabel marks the copies a hub keeps in a member cluster of its Accounts, their
// AccountQuotas and their Templates. Its value names the hub: the UID of the kube-system
// namespace of the hub's cluster. The hub writes, reverts and deletes only the objects that
// carry its value; removing the label from a copy releases it from the hub.
const HubLabel = "tenancy.kiosk.sh/hub"

// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Cluster is a member cluster of a hub: a kube-apiserver, reached with the hub's own
// credentials, whose tenancy-apiserver the hub asks for the Spaces of its callers.
type Cluster struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says where the member is and how the hub authenticates to it.
	// +optional
	Spec ClusterSpec `json:"spec,omitempty"`

	// Status is what the hub last observed of the member.
	// +optional
	Status ClusterStatus `json:"status,omitempty"`
}

// ClusterSpec says where a member cluster is and how the hub authenticates to it.
type ClusterSpec struct {
	// Server is the https URL of the member's kube-apiserver.
	Server string `json:"server"`

	// CABundle is the PEM bundle that the member's serving certificate must chain to. Empty
	// means the Secret's "ca.crt", or else the system's roots.
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`

	// CredentialsSecret names the Secret, in the hub's cluster, that holds the hub's
	// credentials for the member: a bearer token under "token", or a client certificate
	// under "tls.crt" and "tls.key"; optionally the CA under "ca.crt".
	CredentialsSecret ClusterSecretReference `json:"credentialsSecret"`
}

// ClusterSecretReference names a Secret.
type ClusterSecretReference struct {
	// Namespace of the Secret.
	Namespace string `json:"namespace"`
	// Name of the Secret.
	Name string `json:"name"`
}

// ClusterStatus is what the hub last observed of a member cluster.
type ClusterStatus struct {
	// Reachable is true when the member's kube-apiserver answered the hub's credentials.
	// +optional
	Reachable bool `json:"reachable"`

	// ServerVersion is the member kube-apiserver's version (gitVersion).
	// +optional
	ServerVersion string `json:"serverVersion,omitempty"`

	// TenancyAPIServer is true when the member serves tenancy.kiosk.sh/v1alpha1, that is
	// when a tenancy-apiserver runs there and answers.
	// +optional
	TenancyAPIServer bool `json:"tenancyAPIServer"`

	// Message says why the member is not reachable or serves no tenancy.kiosk.sh.
	// +optional
	Message string `json:"message,omitempty"`

	// LastProbeTime is when the hub last probed the member.
	// +optional
	LastProbeTime metav1.Time `json:"lastProbeTime,omitempty"`

	// ObservedGeneration is the generation of the spec the last probe used.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ClusterList is a list of Clusters.
type ClusterList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the Clusters.
	Items []Cluster `json:"items"`
}
