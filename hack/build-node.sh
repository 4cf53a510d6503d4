#!/usr/bin/env bash
# Builds what the local node runs into _output/bin, and its images into _output/images:
#   kubelet, kube-scheduler, kube-proxy  from k8s.io/kubernetes pinned in hack/tools/controlplane
#   kube-router                          pinned in hack/tools/kube-router (NetworkPolicy firewall)
#   imagepack                            hack/tools/image: packs static binaries into image tarballs
#   pause.tar                            the Pods' sandbox image, hack/pause packed by imagepack
# A rebuild happens only when the pins or the sources change.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="${OUTPUT_BIN:-$root/_output/bin}"
images="${OUTPUT_IMAGES:-$root/_output/images}"
mkdir -p "$bin" "$images"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

# PAUSE_IMAGE is the sandbox image's name, as containerd's config and the kubelet name it.
PAUSE_IMAGE=${PAUSE_IMAGE:-registry.k8s.io/pause:local}

binaries_stamp="$bin/.node.stamp"
want=$(cat "$root/hack/tools/controlplane/go.mod" "$root/hack/tools/controlplane/go.sum" \
  "$root/hack/tools/kube-router/go.mod" "$root/hack/tools/kube-router/go.sum" "$0" | sha256sum | cut -d' ' -f1)
if ! [[ -f $binaries_stamp && "$(cat "$binaries_stamp")" == "$want" &&
  -x $bin/kubelet && -x $bin/kube-scheduler && -x $bin/kube-proxy && -x $bin/kube-router ]]; then
  echo "building the node (kubelet, kube-scheduler, kube-proxy, kube-router) into $bin; the first build takes 10 to 20 minutes" >&2
  (
    cd "$root/hack/tools/controlplane"
    version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
    minor=$(echo "$version" | cut -d. -f2)
    ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version \
      -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
      -X k8s.io/component-base/version.gitTreeState=clean"
    for cmd in kubelet kube-scheduler kube-proxy; do
      go build -trimpath -ldflags "$ldflags" -o "$bin/$cmd" "k8s.io/kubernetes/cmd/$cmd"
    done
  )
  (
    cd "$root/hack/tools/kube-router"
    version=$(go list -m -f '{{.Version}}' github.com/cloudnativelabs/kube-router/v2)
    go build -trimpath -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$version" \
      -o "$bin/kube-router" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
  )
  echo "$want" >"$binaries_stamp"
fi

# The image tool and the pause image are small: go build's cache decides, and the tarball is
# rewritten only when its content changes (imagepack writes reproducible tarballs).
(cd "$root/hack/tools/image" && go build -trimpath -o "$bin/imagepack" .)
(cd "$root" && go build -trimpath -ldflags "-s -w" -o "$bin/pause" ./hack/pause)
"$bin/imagepack" --tag="$PAUSE_IMAGE" --output="$images/pause.tar" \
  --file="$bin/pause:/pause" --entrypoint=/pause --user=65535:65535 \
  --label=org.opencontainers.image.title=pause \
  --label=org.opencontainers.image.description="The local node's Pod sandbox: waits for a signal, reaps orphans"
