#!/usr/bin/env bash
# Backs up and restores the tenancy etcd of the local control plane that hack/local-up.sh
# started: the store of Accounts, AccountQuotas, Templates and TemplateInstances, embedded in
# replica 0 (REPLICAS=1) or run by hack/lib/tenancy-etcd.sh for replicas to share.
#
#   hack/backup.sh save FILE      write a snapshot of the running etcd to FILE
#   hack/backup.sh restore FILE   stop the replicas (and the shared etcd), restore FILE into a
#                                 fresh data directory, swap it in, start them again
#
# Both use etcd's snapshot code (hack/tools/etcdbackup). Restore keeps the replaced data
# directory in _output/local/tenancy-etcd.previous until the next restore, raises the revision
# and marks it compacted, so no client sees revisions go back (a watch from before answers 410).
# Each replica starts again with the flags it ran with. Namespaces, Pods and RoleBindings live in
# kube-apiserver's etcd and are neither saved nor restored; AccountQuota usage is recounted from
# the objects by the controller after the restart.
set -o errexit -o nounset -o pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/tenancy-apiserver.sh"

# The embedded etcd's member name (pkg/embeddedetcd), which the restored member must keep.
readonly MEMBER_NAME=tenancy-apiserver

backup::tool() {
  (cd "$LOCAL_ROOT/hack/tools/etcdbackup" && go build -o "$LOCAL_BIN/etcdbackup" .)
  echo "$LOCAL_BIN/etcdbackup"
}

backup::save() {
  local file=$1 tool
  tool=$(backup::tool)
  mkdir -p "$(dirname "$file")"
  lcp::log "saving a snapshot of the tenancy etcd on 127.0.0.1:$TENANCY_ETCD_PORT to $file"
  "$tool" save --endpoint="http://127.0.0.1:$TENANCY_ETCD_PORT" --file="$file.part"
  mv "$file.part" "$file"
}

# backup::replica_args INDEX prints, one per line, the flags replica INDEX runs with beyond
# its defaults (tenancy::flags), read from its command line.
backup::replica_args() {
  local index=$1 pid defaults args=()
  pid=$(lcp::pid_of "tenancy-apiserver-$index")
  defaults=$(tenancy::flags "$index" | wc -l)
  mapfile -d '' -t args <"/proc/$pid/cmdline"
  (( ${#args[@]} > defaults + 1 )) || return 0
  printf '%s\n' "${args[@]:defaults+1}"
}

backup::restore() {
  local file=$1 tool
  [[ -s $file ]] || lcp::fail "no snapshot in $file"
  tool=$(backup::tool)
  local data=$LOCAL_DIR/tenancy-etcd fresh=$LOCAL_DIR/tenancy-etcd.restoring
  local previous=$LOCAL_DIR/tenancy-etcd.previous
  rm -rf "$fresh"
  "$tool" restore --file="$file" --data-dir="$fresh" --name="$MEMBER_NAME" \
    --peer-url="http://127.0.0.1:$TENANCY_ETCD_PEER_PORT"

  # Stop whatever runs on the data directory: every replica, then the shared etcd.
  local indexes=() index pidfile shared=0
  for pidfile in "$LOCAL_PIDS"/tenancy-apiserver-*.pid; do
    [[ -e $pidfile ]] || continue
    index=${pidfile##*/tenancy-apiserver-}
    index=${index%.pid}
    lcp::pid_of "tenancy-apiserver-$index" >/dev/null || continue
    indexes+=("$index")
  done
  mapfile -t indexes < <(printf '%s\n' "${indexes[@]}" | sort -n | sed '/^$/d')
  declare -A extra=()
  for index in "${indexes[@]}"; do
    extra[$index]=$(backup::replica_args "$index")
  done
  lcp::pid_of tenancy-etcd >/dev/null && shared=1
  lcp::log "stopping replicas ${indexes[*]:-(none)}$( ((shared)) && echo ' and the shared tenancy etcd')"
  for index in "${indexes[@]}"; do
    lcp::stop "tenancy-apiserver-$index"
  done
  ((shared)) && lcp::stop tenancy-etcd

  rm -rf "$previous"
  [[ -d $data ]] && mv "$data" "$previous"
  mv "$fresh" "$data"
  lcp::log "restored $file into $data (the replaced one is in $previous)"

  if ((shared)); then
    "$LOCAL_ROOT/hack/lib/tenancy-etcd.sh" start
  fi
  local args=()
  for index in "${indexes[@]}"; do
    args=()
    [[ -n ${extra[$index]} ]] && mapfile -t args <<<"${extra[$index]}"
    tenancy::start "$index" "${args[@]}"
  done
}

backup::main() {
  (($# == 2)) || { sed -n '6,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
  lcp::load_env
  if [[ ${TENANCY_ETCD_MODE:-} == cluster ]]; then
    lcp::fail "the tenancy etcd is a cluster of $ETCD_MEMBERS members (ETCD_MEMBERS): back it up as an external etcd (docs/operating.md, \"An external or bundled etcd\")"
  fi
  case $1 in
  save) backup::save "$2" ;;
  restore) backup::restore "$2" ;;
  *) exit 2 ;;
  esac
}

backup::main "$@"
