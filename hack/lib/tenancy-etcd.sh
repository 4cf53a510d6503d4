#!/usr/bin/env bash
# Starts and stops the tenancy etcd as a process of its own, for tenancy-apiserver replicas to
# share (hack/local-up.sh with REPLICAS>1, and the e2e harness).
#
#   hack/lib/tenancy-etcd.sh start   run it on 127.0.0.1:$TENANCY_ETCD_PORT, wait until ready
#   hack/lib/tenancy-etcd.sh stop    stop it (SIGTERM, then SIGKILL)
#
# It is hack/localetcd: the etcd tenancy-apiserver embeds, on the embedded etcd's data directory
# (_output/local/tenancy-etcd) and ports, so either can open what the other wrote. Its PID is in
# pids/tenancy-etcd.pid and its output in logs/tenancy-etcd.log.
set -o errexit -o nounset -o pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

start() {
  lcp::log "starting the tenancy etcd on 127.0.0.1:$TENANCY_ETCD_PORT"
  (cd "$LOCAL_ROOT" && go build -o "$LOCAL_BIN/localetcd" ./hack/localetcd)
  lcp::start tenancy-etcd "$LOCAL_BIN/localetcd" --data-dir="$LOCAL_DIR/tenancy-etcd" \
    --client-port="$TENANCY_ETCD_PORT" --peer-port="$TENANCY_ETCD_PEER_PORT"
  lcp::wait_healthy tenancy-etcd 60 /readyz --server="http://127.0.0.1:$TENANCY_ETCD_PORT"
}

main() {
  (($# == 1)) || { sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
  lcp::load_env
  case $1 in
  start) start ;;
  stop) lcp::stop tenancy-etcd ;;
  *) exit 2 ;;
  esac
}

main "$@"
