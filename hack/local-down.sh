#!/usr/bin/env bash
# Stops the local control plane started by hack/local-up.sh: exactly the processes recorded in
# _output/local/pids (SIGTERM, up to STOP_TIMEOUT seconds, default 30, then SIGKILL), servers
# before the etcds they write to. Data is kept; hack/local-up.sh with CLEAN=1 removes it.
set -o errexit -o nounset -o pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

names() {
  local file
  for file in "$LOCAL_PIDS"/*.pid; do
    [[ -e $file ]] || continue
    basename "$file" .pid
  done
}

main() {
  local all=() tier1=() tier2=() tier3=() name
  mapfile -t all < <(names)
  if ((${#all[@]} == 0)); then
    lcp::log "nothing to stop in $LOCAL_PIDS"
    return
  fi
  for name in "${all[@]}"; do
    case $name in
    etcd) tier3+=("$name") ;;
    kube-apiserver | tenancy-etcd) tier2+=("$name") ;;
    *) tier1+=("$name") ;;
    esac
  done
  lcp::log "stopping ${all[*]}"
  lcp::stop "${tier1[@]}"
  lcp::stop "${tier2[@]}"
  lcp::stop "${tier3[@]}"
}

main "$@"
