#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and etcd from the versions pinned in
# hack/tools/controlplane/go.mod into _output/bin. A rebuild happens only when the pins change.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/hack/tools/controlplane"
bin="${OUTPUT_BIN:-$root/_output/bin}"
mkdir -p "$bin"
stamp="$bin/.controlplane.stamp"
want=$(cat "$tools/go.mod" "$tools/go.sum" "$0" | sha256sum | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$bin/kube-apiserver" && -x "$bin/kube-controller-manager" && -x "$bin/etcd" ]]; then
  exit 0
fi
echo "building the control plane (kube-apiserver, kube-controller-manager, etcd) into $bin; the first build takes about 17 minutes" >&2
cd "$tools"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
go build -trimpath -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
go build -trimpath -o "$bin/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
go build -trimpath -o "$bin/etcd" go.etcd.io/etcd/server/v3
echo "$want" > "$stamp"
