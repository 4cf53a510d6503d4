#!/usr/bin/env bash
# Renders charts/tenancy-apiserver with hack/manifests-values.yaml into the plain manifests of
# artifacts/deploy (or the directory given as $1), one file per group of templates below. The
# number prefixes are the ones hack/local-up.sh applies by (see artifacts/README.md).
set -o errexit -o nounset -o pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/artifacts/deploy}
helm=${HELM:-$root/_output/bin/helm}
"$root/hack/build-helm.sh"

# artifact file: the templates it holds, in order.
files=(
  "00-namespace.yaml: namespace"
  "10-serviceaccount.yaml: serviceaccount"
  "20-rbac-delegation.yaml: clusterrolebinding-auth-delegator rolebinding-auth-reader"
  "21-rbac-server.yaml: clusterrole-server clusterrolebinding-server clusterrole-templates clusterrole-templates-default clusterrolebinding-templates role-leader-election rolebinding-leader-election"
  "22-policy-namespaces.yaml: validatingadmissionpolicy-namespaces validatingadmissionpolicybinding-namespaces"
  "23-policy-protected.yaml: validatingadmissionpolicy-protected validatingadmissionpolicybinding-protected"
  "30-clusterroles.yaml: clusterrole-kiosk-view clusterrolebinding-kiosk-view clusterrole-kiosk-edit clusterrole-kiosk-space-admin clusterrole-kiosk-namespace-delete clusterrole-kiosk-template-instances-edit clusterrole-kiosk-template-instances-view"
  "40-service.yaml: service"
  "50-statefulset.yaml: statefulset"
  "51-poddisruptionbudget.yaml: poddisruptionbudget"
  "60-apiservice-config.yaml: apiservice-config"
  "60-apiservice-tenancy.yaml: apiservice-tenancy"
  "70-webhook-accountquota.yaml: validatingwebhookconfiguration"
  "71-webhook-pods.yaml: mutatingwebhookconfiguration"
  "72-webhook-activity.yaml: validatingwebhookconfiguration-activity"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$helm" template tenancy-apiserver "$root/charts/tenancy-apiserver" --namespace tenancy-system \
  --values "$root/hack/manifests-values.yaml" >"$tmp/all.yaml"
# One file per template in $tmp/docs, named after it, without helm's separators and headers.
mkdir "$tmp/docs"
awk -v dir="$tmp/docs" '
  /^---$/ { next }
  /^# Source: / { n = split($3, p, "/"); sub(/\.yaml$/, "", p[n]); file = dir "/" p[n]; next }
  file != "" { print > file }
' "$tmp/all.yaml"

mkdir -p "$tmp/out"
for entry in "${files[@]}"; do
  name=${entry%%:*}
  first=1
  {
    echo "# Rendered from charts/tenancy-apiserver by make manifests; change the chart, not this file."
    for template in ${entry#*:}; do
      [[ -f $tmp/docs/$template ]] || { echo "$name: template $template rendered nothing" >&2; exit 1; }
      ((first)) || echo "---"
      first=0
      cat "$tmp/docs/$template"
      rm "$tmp/docs/$template"
    done
  } >"$tmp/out/$name"
done
left=$(ls "$tmp/docs")
if [[ -n $left ]]; then
  echo "hack/update-manifests.sh: rendered templates not placed in any artifact file: $left" >&2
  exit 1
fi
mkdir -p "$out"
rm -f "$out"/*.yaml
cp "$tmp/out"/*.yaml "$out/"
