package config

import (
	corev1 "k8s.io/api/core/v1"
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

	// Isolation keeps the Account's Spaces apart from other tenants: Pod Security, the
	// nodes its Pods run on, PriorityClasses, image pulls and NetworkPolicies.
	// +optional
	Isolation AccountIsolation `json:"isolation,omitempty"`

	// Clusters selects the member clusters of a hub where the hub keeps a copy of this
	// Account, of the AccountQuotas whose spec.account names it, and of the Templates its
	// space.templateInstances name. A member is selected when it is listed in names or its
	// Cluster matches selector. Unset means the Account lives in this cluster only. Copies
	// never carry this field.
	// +optional
	Clusters *AccountClusters `json:"clusters,omitempty"`
}

// AccountClusters selects member clusters by name, by the labels of their Cluster objects,
// or both.
type AccountClusters struct {
	// Names are names of Cluster objects.
	// +optional
	// +listType=set
	Names []string `json:"names,omitempty"`

	// Selector selects Cluster objects by their labels. An empty selector selects every
	// member.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
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

	// Clusters are the member clusters spec.clusters selects, and whether the hub's copies
	// there match this Account.
	// +optional
	// +listType=map
	// +listMapKey=name
	Clusters []AccountClusterStatus `json:"clusters,omitempty"`
}

// AccountClusterStatus says whether the copies of an Account in one member cluster match it.
type AccountClusterStatus struct {
	// Name of the Cluster.
	Name string `json:"name"`

	// Synced is true when the member holds the Account, its AccountQuotas and its Templates
	// as they are in the hub.
	Synced bool `json:"synced"`

	// Message says why the copies do not match: the member does not answer, or an object of
	// the same name there is not managed by this hub.
	// +optional
	Message string `json:"message,omitempty"`

	// LastSyncTime is when the copies last matched.
	// +optional
	LastSyncTime metav1.Time `json:"lastSyncTime,omitempty"`
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

// AccountIsolation keeps an Account's Spaces apart from other tenants and from the cluster.
// Every field is optional; an Account without isolation behaves as in kiosk.
type AccountIsolation struct {
	// PodSecurity sets the Pod Security Admission levels of every Space of the Account
	// through the upstream pod-security.kubernetes.io namespace labels. The server keeps them
	// on existing and adopted Spaces, and tenants cannot change or remove them.
	// +optional
	PodSecurity *AccountPodSecurity `json:"podSecurity,omitempty"`

	// Nodes confines the Pods of the Account's Spaces to the Account's nodes: the node
	// selector and tolerations are added to every Pod at admission, and a Pod that would
	// escape them is refused.
	// +optional
	Nodes *AccountNodeIsolation `json:"nodes,omitempty"`

	// PriorityClasses are the PriorityClasses the Account's Pods may name. Unset means any.
	// +optional
	PriorityClasses *AccountPriorityClasses `json:"priorityClasses,omitempty"`

	// AlwaysPullImages sets imagePullPolicy Always on every container of the Account's Pods,
	// so that a tenant cannot run another tenant's private image from a node's cache.
	// +optional
	AlwaysPullImages bool `json:"alwaysPullImages,omitempty"`

	// Network is the NetworkPolicy isolation the server keeps in every Space of the Account.
	// +optional
	Network AccountNetworkIsolation `json:"network,omitempty"`
}

// PodSecurityLevel is a Pod Security Standards level.
type PodSecurityLevel string

// The Pod Security Standards levels.
const (
	PodSecurityPrivileged PodSecurityLevel = "privileged"
	PodSecurityBaseline   PodSecurityLevel = "baseline"
	PodSecurityRestricted PodSecurityLevel = "restricted"
)

// AccountPodSecurity holds the Pod Security Admission levels of an Account's Spaces.
type AccountPodSecurity struct {
	// Enforce is the level Pods must meet to be admitted: privileged, baseline or restricted.
	Enforce PodSecurityLevel `json:"enforce"`

	// Warn is the level whose violations are returned to the client as warnings. Unset
	// means the enforce level.
	// +optional
	Warn PodSecurityLevel `json:"warn,omitempty"`

	// Audit is the level whose violations are recorded in the audit log. Unset means the
	// enforce level.
	// +optional
	Audit PodSecurityLevel `json:"audit,omitempty"`

	// Version is the Pod Security Standards version the levels refer to, such as "v1.30".
	// Unset means "latest".
	// +optional
	Version string `json:"version,omitempty"`
}

// AccountNodeIsolation names the nodes an Account's Pods may run on.
type AccountNodeIsolation struct {
	// NodeSelector is added to the nodeSelector of every Pod of the Account's Spaces. A Pod
	// that sets one of its keys to another value, whose required node affinity excludes it,
	// or that names a node it does not match, is refused. Use labels under the
	// node-restriction.kubernetes.io/ prefix, which kubelets cannot set on their own node.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations are added to every Pod of the Account's Spaces, and are the only
	// tolerations its Pods may have, besides those Kubernetes itself adds for node
	// conditions (node.kubernetes.io/ taints).
	// +optional
	// +listType=atomic
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
}

// AccountPriorityClasses are the PriorityClasses an Account's Pods may use.
type AccountPriorityClasses struct {
	// Allowed are the names of the PriorityClasses the Account's Pods may name. A Pod naming
	// another is refused.
	// +listType=set
	Allowed []string `json:"allowed"`

	// Default is the PriorityClass given to Pods that name none. It must be one of allowed.
	// Unset means Pods that name none keep the cluster's default.
	// +optional
	Default string `json:"default,omitempty"`
}

// NetworkIsolationMode says which traffic the NetworkPolicies of an Account's Spaces allow.
type NetworkIsolationMode string

// The network isolation modes.
const (
	// NetworkIsolationNone keeps no NetworkPolicy: traffic flows as the cluster allows.
	NetworkIsolationNone NetworkIsolationMode = "None"
	// NetworkIsolationAccount allows traffic among the Pods of all the Account's Spaces and
	// DNS, and denies ingress from everything else.
	NetworkIsolationAccount NetworkIsolationMode = "Account"
	// NetworkIsolationSpace allows traffic only within each Space, and DNS.
	NetworkIsolationSpace NetworkIsolationMode = "Space"
)

// AccountNetworkIsolation is the NetworkPolicy isolation of an Account's Spaces.
type AccountNetworkIsolation struct {
	// Mode is None (the default: no NetworkPolicy), Account (traffic among the Account's
	// Spaces and DNS egress allowed, ingress from other Spaces denied) or Space (the same
	// within each Space alone).
	// +optional
	Mode NetworkIsolationMode `json:"mode,omitempty"`
}
