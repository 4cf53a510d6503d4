#!/usr/bin/env bash
# Packs the etcd that make controlplane built (_output/bin/etcd, static) into an OCI image
# tarball, _output/images/etcd.tar, named tenancy.local/etcd:<the pinned etcd version>, with
# etcd at /usr/local/bin/etcd as in the upstream image the chart's bundled etcd runs by default.
# The local node imports it (hack/lib/node.sh), so the chart's bundled etcd runs on it with
# storage.bundled.image set to it and pullPolicy Never; local-up's registry holds it too.
# Packed again only when the binary or this script changed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="${OUTPUT_BIN:-$root/_output/bin}"
OUTPUT=${OUTPUT:-$root/_output/images/etcd.tar}
version=$(awk '$1 == "go.etcd.io/etcd/server/v3" {print $2}' "$root/hack/tools/controlplane/go.mod")
[[ -n $version ]] || { echo "build-etcd-image: no etcd version in hack/tools/controlplane/go.mod" >&2; exit 1; }
[[ -x $bin/etcd ]] || { echo "build-etcd-image: $bin/etcd does not exist: run make controlplane" >&2; exit 1; }
mkdir -p "$(dirname "$OUTPUT")"
stamp=$OUTPUT.inputs
want=$(cat "$bin/etcd" "$0" <(echo "$version") | sha256sum | cut -d' ' -f1)
if [[ -f $OUTPUT && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi
(cd "$root/hack/tools/image" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$bin/imagepack" .)
"$bin/imagepack" --tag="tenancy.local/etcd:$version" --output="$OUTPUT" --format=oci \
  --file="$bin/etcd:/usr/local/bin/etcd:0755" --entrypoint=/usr/local/bin/etcd --user=65534:65534 \
  --label=org.opencontainers.image.title=etcd --label=org.opencontainers.image.version="$version" \
  --label=org.opencontainers.image.description="etcd $version built from source by make controlplane, for the local node"
echo "$want" >"$stamp"
