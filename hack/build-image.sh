#!/usr/bin/env bash
# Packs the product's image, without a Docker engine, from the static binary make build made:
# an OCI image tarball with what the Dockerfile's final stage declares (the binary at
# /tenancy-apiserver, USER 65534:65534, ENTRYPOINT ["/tenancy-apiserver"], the OCI labels) and
# the files of its distroless base that the server uses: /etc/passwd and /etc/group naming the
# user, the CA bundle for chart repositories and registries over TLS, and the base's PATH and
# SSL_CERT_FILE. test/image checks
# that the two agree. The tarball is reproducible, and packed again only when an input changed.
#
#   BINARY      the server binary (default _output/bin/tenancy-apiserver)
#   OUTPUT      the tarball (default _output/images/tenancy-apiserver.tar)
#   IMAGE       the image's name (default ghcr.io/tenancy-apiserver/tenancy-apiserver:$VERSION)
#   VERSION, COMMIT, BUILD_DATE  as make build stamps them (BUILD_DATE: the commit's date)
#   CA_BUNDLE   the PEM bundle packed as /etc/ssl/certs/ca-certificates.crt (default the host's)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="${OUTPUT_BIN:-$root/_output/bin}"
BINARY=${BINARY:-$bin/tenancy-apiserver}
OUTPUT=${OUTPUT:-$root/_output/images/tenancy-apiserver.tar}
VERSION=${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)}
COMMIT=${COMMIT:-$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)}
BUILD_DATE=${BUILD_DATE:-$(TZ=UTC git -C "$root" log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo 1970-01-01T00:00:00Z)}
IMAGE=${IMAGE:-ghcr.io/tenancy-apiserver/tenancy-apiserver:$VERSION}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
SOURCE=https://github.com/tenancy-apiserver/tenancy-apiserver

for f in "$BINARY" "$CA_BUNDLE"; do
  [[ -f $f ]] || { echo "build-image: $f does not exist (BINARY: run make build; CA_BUNDLE: apt-get install ca-certificates)" >&2; exit 1; }
done
mkdir -p "$bin" "$(dirname "$OUTPUT")"
# Packing gzips the whole binary: skip it when nothing that goes into the image changed (go
# build touches an up-to-date binary, so times cannot tell).
stamp=$OUTPUT.inputs
want=$(cat "$BINARY" "$CA_BUNDLE" "$0" "$root/hack/image/passwd" "$root/hack/image/group" \
  "$root/hack/tools/image/"*.go "$root/hack/tools/image/go.sum" <(echo "$IMAGE $VERSION $COMMIT $BUILD_DATE") |
  sha256sum | cut -d' ' -f1)
if [[ -f $OUTPUT && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  echo "build-image: $OUTPUT is up to date ($IMAGE)" >&2
  exit 0
fi
(cd "$root/hack/tools/image" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$bin/imagepack" .)
"$bin/imagepack" --tag="$IMAGE" --output="$OUTPUT" --format=oci --created="$BUILD_DATE" \
  --file="$BINARY:/tenancy-apiserver:0755" \
  --file="$root/hack/image/passwd:/etc/passwd:0644" \
  --file="$root/hack/image/group:/etc/group:0644" \
  --file="$CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:0644" \
  --user=65534:65534 --entrypoint=/tenancy-apiserver \
  --env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env=SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --label=org.opencontainers.image.title=tenancy-apiserver \
  --label=org.opencontainers.image.source="$SOURCE" \
  --label=org.opencontainers.image.revision="$COMMIT" \
  --label=org.opencontainers.image.version="$VERSION" \
  --label=org.opencontainers.image.created="$BUILD_DATE"
echo "$want" >"$stamp"
