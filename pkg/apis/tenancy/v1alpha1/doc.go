// Package v1alpha1 is version v1alpha1 of the tenancy.kiosk.sh API group: the per-user
// views of Spaces and Accounts, served from memory and never stored.
//
// +k8s:deepcopy-gen=package
// +k8s:conversion-gen=github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy
// +k8s:defaulter-gen=TypeMeta
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=sh.kiosk.tenancy.v1alpha1
// +groupName=tenancy.kiosk.sh
package v1alpha1
