#!/usr/bin/env bash
# Stops the local control plane started by hack/local-up.sh: exactly the processes recorded in
# _output/local/pids (SIGTERM, up to STOP_TIMEOUT seconds, default 30, then SIGKILL), servers
# before the etcds they write to. Data is kept; hack/local-up.sh with CLEAN=1 removes it.
# When a node ran, it then removes what the node added to the host (hack/lib/node.sh): the
# Pods' processes, mounts and network namespaces, iptables chains and ipsets, the bridge,
# kubepods cgroups, the node's state in _output/local/node, and restores the recorded sysctls.
set -o errexit -o nounset -o pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/node.sh"
if [[ -f $LOCAL_ENV ]]; then
  # The node's settings as local-up used them.
  eval "$(grep -E '^(NODE|NODE_NAME|NODE_BRIDGE|NODE_IP|NODE_PREFIX|POD_CIDR|KUBE_APISERVER_PORT)=' "$LOCAL_ENV")"
fi
node::defaults

names() {
  local file pid binary
  # A start interrupted before its process ran the binary leaves NAME.pid.starting: once the
  # process runs it, it is stopped like the others.
  for file in "$LOCAL_PIDS"/*.pid.starting; do
    [[ -e $file ]] || continue
    read -r pid binary <"$file" || true
    if [[ $pid =~ ^[0-9]+$ ]] && lcp::runs "$pid" "$binary" && [[ ! -e ${file%.starting} ]]; then
      mv "$file" "${file%.starting}"
    else
      rm -f "$file"
    fi
  done
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
    node::down
    return
  fi
  for name in "${all[@]}"; do
    case $name in
    etcd) tier3+=("$name") ;;
    kube-apiserver | tenancy-etcd | tenancy-etcd-* | containerd) tier2+=("$name") ;;
    *) tier1+=("$name") ;;
    esac
  done
  lcp::log "stopping ${all[*]}"
  lcp::stop "${tier1[@]}"
  lcp::stop "${tier2[@]}"
  lcp::stop "${tier3[@]}"
  node::down
}

main "$@"
