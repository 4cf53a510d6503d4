#!/usr/bin/env bash
# Fails when the tree is not formatted, vetted, generated or tidy.
set -o errexit -o nounset -o pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
fail=0

echo "verify: gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go') 2>&1 || true)
if [[ -n "$unformatted" ]]; then
  echo "not gofmt-ed:"; echo "$unformatted"; fail=1
fi

echo "verify: go vet"
go vet ./... || fail=1

echo "verify: generated code"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
snapshot() { git ls-files -co --exclude-standard pkg/generated pkg/apis api | sort | xargs sha256sum; }
snapshot > "$tmp/before"
VERIFY=1 hack/update-codegen.sh >/dev/null || { echo "API rules report drifted (api/api-rules/violation_exceptions.list)"; fail=1; }
snapshot > "$tmp/after"
if ! diff -u "$tmp/before" "$tmp/after"; then
  echo "generated code is out of date: run make update"; fail=1
fi

echo "verify: go mod tidy"
cp go.mod "$tmp/go.mod"; cp go.sum "$tmp/go.sum"
go mod tidy
if ! diff -q go.mod "$tmp/go.mod" >/dev/null || ! diff -q go.sum "$tmp/go.sum" >/dev/null; then
  echo "go.mod/go.sum are not tidy: run make update"; fail=1
  cp "$tmp/go.mod" go.mod; cp "$tmp/go.sum" go.sum
fi

echo "verify: artifacts/deploy rendered from charts/tenancy-apiserver"
hack/update-manifests.sh "$tmp/deploy" || fail=1
if ! diff -ru artifacts/deploy "$tmp/deploy"; then
  echo "artifacts/deploy drifted from charts/tenancy-apiserver: run make manifests"; fail=1
fi

exit $fail
