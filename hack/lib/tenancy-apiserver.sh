#!/usr/bin/env bash
# Starts and stops replicas of tenancy-apiserver on the local control plane that
# hack/local-up.sh started. Used by hack/local-up.sh and by the e2e harness.
#
#   hack/lib/tenancy-apiserver.sh start   INDEX [FLAG...]   start replica INDEX, wait until ready
#   hack/lib/tenancy-apiserver.sh stop    INDEX             stop it (SIGTERM, then SIGKILL)
#   hack/lib/tenancy-apiserver.sh restart INDEX [FLAG...]   both
#   hack/lib/tenancy-apiserver.sh url     INDEX             print its https URL
#
# Replica INDEX listens on https://127.0.0.1:$((TENANCY_PORT + INDEX)) with the serving
# certificate the APIServices trust (valid for localhost, 127.0.0.1 and
# <service>.<namespace>.svc); its PID is in pids/tenancy-apiserver-INDEX.pid and its output in
# logs/tenancy-apiserver-INDEX.log. FLAGs come after the defaults, so they override them.
#
# Storage: with REPLICAS=1 (the default), replica 0 runs the embedded etcd in
# _output/local/tenancy-etcd, listening on TENANCY_ETCD_PORT, and any further replica uses that
# etcd through --etcd-servers (it then depends on replica 0 staying up). With REPLICAS>1,
# hack/local-up.sh runs that same data directory as a separate etcd process on the same port
# and every replica uses it through --etcd-servers. With ETCD_MEMBERS>1, every replica uses the
# TLS etcd cluster of hack/lib/tenancy-etcd.sh through --etcd-servers, verifying the members'
# certificates (--etcd-cafile) and presenting its client certificate (--etcd-certfile).
set -o errexit -o nounset -o pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tenancy-etcd.sh"

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# tenancy::flags INDEX prints the default flags of replica INDEX, one per line.
tenancy::flags() {
  local index=$1
  cat <<EOF
--bind-address=127.0.0.1
--secure-port=$((TENANCY_PORT + index))
--tls-cert-file=$LOCAL_PKI/tenancy-apiserver-serving.crt
--tls-private-key-file=$LOCAL_PKI/tenancy-apiserver-serving.key
--kubeconfig=$LOCAL_PKI/tenancy-apiserver.kubeconfig
--authentication-kubeconfig=$LOCAL_PKI/tenancy-apiserver.kubeconfig
--authorization-kubeconfig=$LOCAL_PKI/tenancy-apiserver.kubeconfig
--accountquota-webhook-client-ca-file=$LOCAL_PKI/ca.crt
--accountquota-webhook-client-name=tenancy-accountquota-webhook-caller
--admission-control-config-file=$LOCAL_DIR/admission.yaml
EOF
  if [[ $TENANCY_ETCD_MODE == embedded && $index == 0 ]]; then
    cat <<EOF
--embedded-etcd-dir=$LOCAL_DIR/tenancy-etcd
--embedded-etcd-client-port=$TENANCY_ETCD_PORT
--embedded-etcd-peer-port=$TENANCY_ETCD_PEER_PORT
EOF
  else
    etcd::flags "${ETCD_MEMBERS:-1}"
  fi
}

tenancy::start() {
  local index=$1
  shift
  local name=tenancy-apiserver-$index port=$((TENANCY_PORT + index))
  local binary=$LOCAL_BIN/tenancy-apiserver
  [[ -x $binary ]] || lcp::fail "$binary is missing: run make build"
  if ! lcp::port_free "$port"; then
    lcp::fail "port $port of $name is taken by another process"
  fi
  local flags=()
  mapfile -t flags < <(tenancy::flags "$index")
  # The local registry's CA (hack/lib/registry.sh), besides the system's roots, for oci:// charts.
  if [[ -d $LOCAL_DIR/registry/trust ]]; then
    export SSL_CERT_DIR=${SSL_CERT_DIR:-/etc/ssl/certs}:$LOCAL_DIR/registry/trust
  fi
  lcp::start "$name" "$binary" "${flags[@]}" "$@"
  local client=(--server="https://127.0.0.1:$port" --certificate-authority="$LOCAL_PKI/serving-ca.crt"
    --client-certificate="$LOCAL_PKI/admin.crt" --client-key="$LOCAL_PKI/admin.key")
  lcp::wait_healthy "$name" "${TENANCY_START_TIMEOUT:-120}" /readyz "${client[@]}"
  # /readyz answers before the server has loaded the client CAs from kube-apiserver; until then
  # it takes client certificates for anonymous. /metrics is only for authenticated, authorized
  # callers, so its answer to the admin's certificate shows the CAs are in place.
  lcp::wait_until "$name" 60 "the admin's client certificate was not accepted" \
    lcp::get_raw /metrics "${client[@]}" >/dev/null
  lcp::log "$name is ready on https://127.0.0.1:$port"
}

main() {
  (($# >= 2)) || usage
  local cmd=$1 index=$2
  shift 2
  [[ $index =~ ^[0-9]+$ ]] || usage
  lcp::load_env
  case $cmd in
  start) tenancy::start "$index" "$@" ;;
  stop) lcp::stop "tenancy-apiserver-$index" ;;
  restart)
    lcp::stop "tenancy-apiserver-$index"
    tenancy::start "$index" "$@"
    ;;
  url) echo "https://127.0.0.1:$((TENANCY_PORT + index))" ;;
  *) usage ;;
  esac
}

# Sourced (hack/backup.sh), it only defines its functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
