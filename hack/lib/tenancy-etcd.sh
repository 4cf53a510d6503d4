#!/usr/bin/env bash
# Starts and stops the tenancy etcd as processes of their own, for tenancy-apiserver replicas to
# share (hack/local-up.sh with REPLICAS>1 or ETCD_MEMBERS>1, and the e2e harness).
#
#   hack/lib/tenancy-etcd.sh start [MEMBERS]  run it (MEMBERS, default ETCD_MEMBERS), wait until ready
#   hack/lib/tenancy-etcd.sh stop             stop every member (SIGTERM, then SIGKILL)
#   hack/lib/tenancy-etcd.sh start-member I   start member I of the cluster again, wait until ready
#   hack/lib/tenancy-etcd.sh stop-member I    stop member I (SIGTERM, then SIGKILL)
#   hack/lib/tenancy-etcd.sh flags [MEMBERS]  print the storage flags of tenancy-apiserver for it
#
# One member (the default) is hack/localetcd: the etcd tenancy-apiserver embeds, on the embedded
# etcd's data directory (_output/local/tenancy-etcd) and ports, so either can open what the
# other wrote; its PID is in pids/tenancy-etcd.pid and its output in logs/tenancy-etcd.log.
#
# More members are an etcd cluster (the etcd binary of make controlplane) on loopback with TLS
# for peers and clients: member I listens for clients on TENANCY_ETCD_PORT+10*I and for peers
# on TENANCY_ETCD_PEER_PORT+10*I, with the certificates of hack/localcerts (etcd-ca,
# tenancy-etcd-server, tenancy-etcd-peer); both listeners require a client certificate of
# etcd-ca, and tenancy-apiserver presents tenancy-apiserver-etcd-client. Data is in
# _output/local/tenancy-etcd-cluster/tenancy-etcd-I and survives restarts; PIDs are in
# pids/tenancy-etcd-I.pid, output in logs/tenancy-etcd-I.log.
set -o errexit -o nounset -o pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CLUSTER_DIR=$LOCAL_DIR/tenancy-etcd-cluster

etcd::usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# etcd::members prints the size of the cluster that start last ran, or ETCD_MEMBERS.
etcd::members() {
  if [[ -f $CLUSTER_DIR/members ]]; then
    cat "$CLUSTER_DIR/members"
  else
    echo "${ETCD_MEMBERS:-1}"
  fi
}

etcd::client_url() { echo "https://127.0.0.1:$((TENANCY_ETCD_PORT + 10 * $1))"; }
etcd::peer_url() { echo "https://127.0.0.1:$((TENANCY_ETCD_PEER_PORT + 10 * $1))"; }

# etcd::flags MEMBERS prints, one per line, the flags that point tenancy-apiserver at the
# tenancy etcd of MEMBERS members.
etcd::flags() {
  local members=$1 i urls=()
  [[ $members =~ ^[1-9][0-9]*$ ]] || lcp::fail "the number of etcd members must be positive, not '$members'"
  if ((members == 1)); then
    echo "--etcd-servers=http://127.0.0.1:$TENANCY_ETCD_PORT"
    return
  fi
  for ((i = 0; i < members; i++)); do
    urls+=("$(etcd::client_url "$i")")
  done
  local IFS=,
  cat <<EOF
--etcd-servers=${urls[*]}
--etcd-cafile=$LOCAL_PKI/etcd-ca.crt
--etcd-certfile=$LOCAL_PKI/tenancy-apiserver-etcd-client.crt
--etcd-keyfile=$LOCAL_PKI/tenancy-apiserver-etcd-client.key
EOF
}

# etcd::client_args I prints the arguments with which kubectl reaches member I.
etcd::client_args() {
  printf '%s\n' --server="$(etcd::client_url "$1")" --certificate-authority="$LOCAL_PKI/etcd-ca.crt" \
    --client-certificate="$LOCAL_PKI/tenancy-apiserver-etcd-client.crt" \
    --client-key="$LOCAL_PKI/tenancy-apiserver-etcd-client.key"
}

# etcd::run_member I MEMBERS starts member I of a cluster of MEMBERS without waiting for it.
etcd::run_member() {
  local index=$1 members=$2 i initial=() name=tenancy-etcd-$1
  for ((i = 0; i < members; i++)); do
    initial+=("tenancy-etcd-$i=$(etcd::peer_url "$i")")
  done
  local IFS=,
  local cluster="${initial[*]}"
  unset IFS
  local client peer pki=$LOCAL_PKI
  client=$(etcd::client_url "$index")
  peer=$(etcd::peer_url "$index")
  mkdir -p "$CLUSTER_DIR"
  lcp::log "starting tenancy etcd member $index on $client (peers on $peer)"
  # Heartbeat and election timeout are above etcd's defaults (100 ms, 1 s): on a busy machine a
  # member that misses a heartbeat by a few hundred milliseconds must not cost an election.
  lcp::start "$name" "$LOCAL_BIN/etcd" --name="$name" --data-dir="$CLUSTER_DIR/$name" \
    --listen-client-urls="$client" --advertise-client-urls="$client" \
    --listen-peer-urls="$peer" --initial-advertise-peer-urls="$peer" \
    --initial-cluster="$cluster" --initial-cluster-state=new --initial-cluster-token=tenancy-local \
    --client-cert-auth --trusted-ca-file="$pki/etcd-ca.crt" \
    --cert-file="$pki/tenancy-etcd-server.crt" --key-file="$pki/tenancy-etcd-server.key" \
    --peer-client-cert-auth --peer-trusted-ca-file="$pki/etcd-ca.crt" \
    --peer-cert-file="$pki/tenancy-etcd-peer.crt" --peer-key-file="$pki/tenancy-etcd-peer.key" \
    --heartbeat-interval=250 --election-timeout=2500 \
    --auto-compaction-mode=periodic --auto-compaction-retention=1h \
    --quota-backend-bytes=$((2 << 30)) --log-level=warn
}

etcd::wait_member() {
  local args=()
  mapfile -t args < <(etcd::client_args "$1")
  lcp::wait_healthy "tenancy-etcd-$1" 60 /readyz "${args[@]}"
}

etcd::start() {
  local members=${1:-$ETCD_MEMBERS} i
  [[ $members =~ ^[1-9][0-9]*$ ]] || lcp::fail "the number of etcd members must be positive, not '$members'"
  if ((members == 1)); then
    lcp::log "starting the tenancy etcd on 127.0.0.1:$TENANCY_ETCD_PORT"
    (cd "$LOCAL_ROOT" && go build -o "$LOCAL_BIN/localetcd" ./hack/localetcd)
    lcp::start tenancy-etcd "$LOCAL_BIN/localetcd" --data-dir="$LOCAL_DIR/tenancy-etcd" \
      --client-port="$TENANCY_ETCD_PORT" --peer-port="$TENANCY_ETCD_PEER_PORT"
    lcp::wait_healthy tenancy-etcd 60 /readyz --server="http://127.0.0.1:$TENANCY_ETCD_PORT"
    return
  fi
  [[ -x $LOCAL_BIN/etcd ]] || lcp::fail "$LOCAL_BIN/etcd is missing: run make controlplane"
  [[ -f $LOCAL_PKI/etcd-ca.crt ]] || lcp::fail "$LOCAL_PKI/etcd-ca.crt is missing: run hack/local-up.sh"
  if [[ -f $CLUSTER_DIR/members && $(cat "$CLUSTER_DIR/members") != "$members" ]]; then
    lcp::fail "$CLUSTER_DIR holds a cluster of $(cat "$CLUSTER_DIR/members") members, not $members: remove it (CLEAN=1) to change the size"
  fi
  mkdir -p "$CLUSTER_DIR"
  echo "$members" >"$CLUSTER_DIR/members"
  # A member is ready only once a quorum has elected a leader: start them all, then wait.
  for ((i = 0; i < members; i++)); do
    etcd::run_member "$i" "$members"
  done
  for ((i = 0; i < members; i++)); do
    etcd::wait_member "$i"
  done
  lcp::log "tenancy etcd cluster of $members members ready"
}

etcd::stop() {
  local names=(tenancy-etcd) file
  for file in "$LOCAL_PIDS"/tenancy-etcd-*.pid; do
    [[ -e $file ]] && names+=("$(basename "$file" .pid)")
  done
  lcp::stop "${names[@]}"
}

etcd::member() {
  local cmd=$1 index=$2 members
  members=$(etcd::members)
  [[ $index =~ ^[0-9]+$ ]] && ((index < members)) || lcp::fail "no member $index in a cluster of $members"
  case $cmd in
  start-member)
    etcd::run_member "$index" "$members"
    # Alone, a member cannot be ready: without a quorum it waits for the others.
    etcd::wait_member "$index"
    ;;
  stop-member) lcp::stop "tenancy-etcd-$index" ;;
  esac
}

etcd::main() {
  (($# >= 1 && $# <= 2)) || etcd::usage
  lcp::load_env
  : "${ETCD_MEMBERS:=1}"
  case $1 in
  start) etcd::start "${2:-}" ;;
  stop) etcd::stop ;;
  start-member | stop-member) (($# == 2)) || etcd::usage; etcd::member "$1" "$2" ;;
  flags) etcd::flags "${2:-$(etcd::members)}" ;;
  *) etcd::usage ;;
  esac
}

# Sourced (hack/lib/tenancy-apiserver.sh), it only defines its functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  etcd::main "$@"
fi
