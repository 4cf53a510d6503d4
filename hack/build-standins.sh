#!/usr/bin/env bash
# Packs the walkthrough's images as stand-ins into _output/images, for local-up to push to the
# loopback registry: hack/standin under the tutorial's names, listening on the port the real
# image would ($STANDIN_ADDR), so docs/walkthrough.md's manifests and commands run verbatim on
# the local node, whose containerd resolves docker.io to that registry alone.
#   standin-nginx.tar           docker.io/library/nginx:latest            :80
#   standin-redis.tar           docker.io/library/redis:latest            :6379
#   standin-ecsdemo-nodejs.tar  docker.io/brentley/ecsdemo-nodejs:latest  :3000
# go build's cache decides, and a tarball is rewritten only when its content changes
# (imagepack writes reproducible tarballs).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="${OUTPUT_BIN:-$root/_output/bin}"
images="${OUTPUT_IMAGES:-$root/_output/images}"
mkdir -p "$bin" "$images"
export CGO_ENABLED=0

(cd "$root/hack/tools/image" && go build -trimpath -o "$bin/imagepack" .)
(cd "$root" && go build -trimpath -ldflags "-s -w" -o "$bin/standin" ./hack/standin)
for image in nginx=docker.io/library/nginx:latest=80 redis=docker.io/library/redis:latest=6379 \
  ecsdemo-nodejs=docker.io/brentley/ecsdemo-nodejs:latest=3000; do
  IFS== read -r file tag port <<<"$image"
  "$bin/imagepack" --tag="$tag" --output="$images/standin-$file.tar" \
    --file="$bin/standin:/standin" --entrypoint=/standin --env="STANDIN_ADDR=:$port" --user=65532:65532 \
    --label=org.opencontainers.image.title="$file" \
    --label=org.opencontainers.image.description="A stand-in for $tag: a TCP listener on :$port (hack/standin)"
done
