#!/usr/bin/env bash
# Scenario: `kubectl get spaces` for a user who sees 10 Spaces, on a cluster with 10,000
# Spaces, against `kubectl get namespaces` as the admin in the same run. Both go through
# kube-apiserver; the report gives the median and p99 of each and their ratio.
#
# Needs a running local control plane (make local-up). Environment:
#   NAMESPACES=10000   how many Spaces to create (created once; re-runs reuse them)
#   RUNS=40            how many timed runs of each command
#   REPORT=_output/scenarios/spaces-10k.txt
set -o errexit -o nounset -o pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export KUBECONFIG=${KUBECONFIG:-$root/_output/local/kubeconfig}
namespaces=${NAMESPACES:-10000}
runs=${RUNS:-40}
report=${REPORT:-$root/_output/scenarios/spaces-10k.txt}
user=scenario-user
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$report")"

kubectl get --raw /readyz >/dev/null || { echo "no control plane: run make local-up first" >&2; exit 1; }

existing() { kubectl get namespaces -l kiosk.sh/account=scenario -o name | sed 's|^namespace/||' | sort; }
existing >"$work/have"
if (( $(wc -l <"$work/have") < namespaces )); then
  for ((i = 0; i < namespaces; i++)); do printf 'scenario-%05d\n' "$i"; done | sort >"$work/want"
  comm -13 "$work/have" "$work/want" >"$work/missing"
  echo "creating $(wc -l <"$work/missing") namespaces labelled kiosk.sh/account=scenario, 8 at a time" >&2
  split -n l/8 "$work/missing" "$work/part."
  start=$SECONDS
  for part in "$work"/part.*; do
    while read -r name; do
      printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n    kiosk.sh/account: scenario\n' "$name"
    done <"$part" >"$part.yaml"
    kubectl create -f "$part.yaml" >/dev/null &
  done
  wait
  echo "created in $((SECONDS - start))s" >&2
fi
step=$((namespaces / 10))
for ((i = 0; i < 10; i++)); do
  ns=$(printf 'scenario-%05d' $((i * step)))
  kubectl create rolebinding "$user" --clusterrole=view --user="$user" -n "$ns" \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
done
seen=$(kubectl get spaces --as="$user" --no-headers | wc -l)
[[ $seen == 10 ]] || { echo "$user sees $seen Spaces, want 10" >&2; exit 1; }

# time_once CMD... prints how long CMD took, in milliseconds.
time_once() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
# Interleave the two so that machine noise hits both alike.
: >"$work/spaces"
: >"$work/namespaces"
for ((run = 0; run < runs; run++)); do
  time_once kubectl get spaces --as="$user" >>"$work/spaces"
  time_once kubectl get namespaces >>"$work/namespaces"
done

pct() { sort -n "$1" | awk -v p="$2" '{a[NR]=$1} END {i=int((NR-1)*p/100)+1; print a[i]}'; }
s50=$(pct "$work/spaces" 50) s99=$(pct "$work/spaces" 99)
n50=$(pct "$work/namespaces" 50) n99=$(pct "$work/namespaces" 99)
{
  echo "scenario: $namespaces Spaces; $user sees 10; $runs runs each, interleaved; $(date -u +%FT%TZ)"
  echo "kubectl get spaces --as=$user   median ${s50} ms  p99 ${s99} ms"
  echo "kubectl get namespaces (admin)  median ${n50} ms  p99 ${n99} ms"
  awk -v a="$s50" -v b="$n50" -v c="$s99" -v d="$n99" \
    'BEGIN {printf "ratio spaces/namespaces: median %.2f  p99 %.2f\n", a/b, c/d}'
} | tee "$report"
