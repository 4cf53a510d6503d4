#!/usr/bin/env bash
# Release archives of the kubectl plugins and their krew manifests, in _output/dist:
#   kubectl-plugins_<VERSION>_<os>_<arch>.tar.gz   kubectl-space and kubectl-account
#   kubectl-plugins_<VERSION>_checksums.txt        sha256 of every archive
#   space.yaml, account.yaml                       plugins/krew/*.yaml with VERSION, URL and
#                                                  the archives' sha256 filled in
# Environment: VERSION (krew wants a semantic version such as v0.3.0), URL (where the archives
# will be downloaded from, without a trailing slash), PLATFORMS (default: the four of the krew
# manifests), LDFLAGS (make's), OUTPUT (default _output).
set -o errexit -o nounset -o pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${VERSION:?VERSION is required, e.g. v0.3.0}" "${URL:?URL is required: where the archives are downloaded from}"
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}
dist="${OUTPUT:-$root/_output}/dist"
rm -rf "$dist" && mkdir -p "$dist"
cd "$root"
manifests=(plugins/krew/*.yaml)
for m in "${manifests[@]}"; do cp "$m" "$dist/"; done
for platform in $PLATFORMS; do
  os=${platform%/*} arch=${platform#*/}
  work="$dist/work-${os}_${arch}"
  mkdir -p "$work"
  echo "building the kubectl plugins for $os/$arch" >&2
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "${LDFLAGS:-}" -o "$work/" \
    ./cmd/kubectl-space ./cmd/kubectl-account
  archive="kubectl-plugins_${VERSION}_${os}_${arch}.tar.gz"
  tar -C "$work" --owner=0 --group=0 --numeric-owner -czf "$dist/$archive" kubectl-space kubectl-account
  rm -rf "$work"
  sum=$(sha256sum "$dist/$archive" | cut -d' ' -f1)
  echo "$sum  $archive" >> "$dist/kubectl-plugins_${VERSION}_checksums.txt"
  sed -i "s|@SHA256_${os}_${arch}@|$sum|" "$dist"/*.yaml
done
sed -i -e "s|@VERSION@|$VERSION|g" -e "s|@URL@|$URL|g" "$dist"/*.yaml
# A platform left out of PLATFORMS leaves its placeholder, which krew would refuse: say so.
if grep -l '@SHA256_' "$dist"/*.yaml >/dev/null; then
  echo "warning: the krew manifests in $dist name platforms that were not built ($PLATFORMS)" >&2
fi
ls -l "$dist" >&2
