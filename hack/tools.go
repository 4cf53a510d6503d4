//go:build tools

// Package hack pins the code generators run by hack/update-codegen.sh, and the
// libraries the server is built on, at the versions in go.mod.
package hack

import (
	_ "github.com/spf13/cobra"
	_ "github.com/stretchr/testify/require"
	_ "go.etcd.io/etcd/server/v3/embed"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	_ "k8s.io/apiserver/pkg/server"
	_ "k8s.io/apiserver/pkg/storage/etcd3/testing"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/code-generator"
	_ "k8s.io/component-base/cli"
	_ "k8s.io/component-helpers/resource"
	_ "k8s.io/klog/v2"
	_ "k8s.io/kube-openapi/cmd/openapi-gen"
	_ "k8s.io/utils/ptr"
	_ "sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)
