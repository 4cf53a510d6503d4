// Package tenancy is the internal version of the tenancy.kiosk.sh API group.
//
// +k8s:deepcopy-gen=package
// +groupName=tenancy.kiosk.sh
package tenancy
