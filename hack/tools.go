//go:build tools

// Package hack pins the code generators run by hack/update-codegen.sh at the versions in go.mod.
package hack

import (
	_ "k8s.io/code-generator"
	_ "k8s.io/kube-openapi/cmd/openapi-gen"
)
