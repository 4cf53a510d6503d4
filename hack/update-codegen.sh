#!/usr/bin/env bash
# Regenerates deepcopy, conversion, defaults, OpenAPI, clientset, listers, informers and
# apply configurations for pkg/apis, with the code-generator pinned in go.mod.
# With VERIFY=1 it only checks the API-rules report instead of updating it.
set -o errexit -o nounset -o pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module=github.com/tenancy-apiserver/tenancy-apiserver
cd "$root"

codegen_pkg=$(go list -m -f '{{.Dir}}' k8s.io/code-generator)
export GOBIN="$root/_output/codegen-bin"
mkdir -p "$GOBIN"
# shellcheck source=/dev/null
source "$codegen_pkg/kube_codegen.sh"

boilerplate="$root/hack/boilerplate.go.txt"
report="$root/api/api-rules/violation_exceptions.list"
update_report="--update-report"
if [[ "${VERIFY:-0}" == 1 ]]; then
  update_report=""
fi

kube::codegen::gen_helpers \
  --boilerplate "$boilerplate" \
  "$root/pkg/apis"

kube::codegen::gen_openapi \
  --output-dir "$root/pkg/generated/openapi" \
  --output-pkg "$module/pkg/generated/openapi" \
  --extra-pkgs k8s.io/api/core/v1 \
  --extra-pkgs k8s.io/api/rbac/v1 \
  --report-filename "$report" \
  --output-model-name-file zz_generated.model_name.go \
  ${update_report:+"$update_report"} \
  --boilerplate "$boilerplate" \
  "$root/pkg/apis"

kube::codegen::gen_client \
  --with-watch \
  --with-applyconfig \
  --applyconfig-openapi-schema <(go run ./hack/openapi-schema) \
  --output-dir "$root/pkg/generated" \
  --output-pkg "$module/pkg/generated" \
  --boilerplate "$boilerplate" \
  "$root/pkg/apis"
