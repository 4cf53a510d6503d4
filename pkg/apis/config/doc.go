// Package config is the internal version of the config.kiosk.sh API group.
//
// +k8s:deepcopy-gen=package
// +groupName=config.kiosk.sh
package config
