// Package v1alpha1 is version v1alpha1 of the config.kiosk.sh API group: the tenancy
// configuration that cluster admins write (Accounts, AccountQuotas, Templates and
// TemplateInstances), stored by tenancy-apiserver in its own etcd.
//
// +k8s:deepcopy-gen=package
// +k8s:conversion-gen=github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config
// +k8s:defaulter-gen=TypeMeta
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=sh.kiosk.config.v1alpha1
// +groupName=config.kiosk.sh
package v1alpha1
