#!/usr/bin/env bash
# Builds helm from the version pinned in hack/tools/helm/go.mod into _output/bin. A rebuild
# happens only when the pin changes. make manifests, make verify and the chart tests run it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/hack/tools/helm"
bin="${OUTPUT_BIN:-$root/_output/bin}"
mkdir -p "$bin"
stamp="$bin/.helm.stamp"
want=$(cat "$tools/go.mod" "$tools/go.sum" "$0" | sha256sum | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$bin/helm" ]]; then
  exit 0
fi
cd "$tools"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
version=$(go list -m -f '{{.Version}}' helm.sh/helm/v3)
# helm template and helm lint assume the Kubernetes version of the client-go helm is built
# with (v0.N.x is Kubernetes 1.N), as helm's own release build stamps it.
kube_minor=$(go list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)
echo "building helm $version (Kubernetes 1.$kube_minor) into $bin" >&2
go build -trimpath -o "$bin/helm" -ldflags "-s -w \
  -X helm.sh/helm/v3/internal/version.version=$version \
  -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kube_minor \
  -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kube_minor" \
  helm.sh/helm/v3/cmd/helm
echo "$want" > "$stamp"
