#!/usr/bin/env bash
# Shared settings and helpers of the local control plane (hack/local-up.sh, hack/local-down.sh,
# hack/lib/tenancy-apiserver.sh). Source it; it defines variables and functions only.
#
# Every port is on 127.0.0.1 and below the kernel's ephemeral range (32768+), so the servers
# do not collide with the random ports tests and clients pick. Each can be overridden from the
# environment when hack/local-up.sh starts the control plane; the values in use are saved in
# $LOCAL_DIR/env, which the other scripts and the e2e harness read.

LOCAL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL_BIN=${OUTPUT_BIN:-$LOCAL_ROOT/_output/bin}
LOCAL_DIR=${LOCAL_DIR:-$LOCAL_ROOT/_output/local}
LOCAL_PKI=$LOCAL_DIR/pki
LOCAL_PIDS=$LOCAL_DIR/pids
LOCAL_LOGS=$LOCAL_DIR/logs
LOCAL_ENV=$LOCAL_DIR/env
KUBECTL=${KUBECTL:-kubectl}

# lcp::defaults sets every tunable that is not set in the environment.
lcp::defaults() {
  : "${ETCD_PORT:=22379}" "${ETCD_PEER_PORT:=22380}"
  : "${TENANCY_ETCD_PORT:=22381}" "${TENANCY_ETCD_PEER_PORT:=22382}"
  : "${KUBE_APISERVER_PORT:=26443}" "${KUBE_CONTROLLER_MANAGER_PORT:=20257}"
  : "${TENANCY_PORT:=28443}"
  : "${REPLICAS:=1}" "${TENANCY:=1}" "${ETCD_MEMBERS:=1}"
  : "${SERVICE_CLUSTER_IP_RANGE:=10.96.0.0/12}" "${KUBERNETES_SERVICE_IP:=10.96.0.1}"
  : "${TENANCY_NAMESPACE:=tenancy-system}" "${TENANCY_SERVICE:=tenancy-apiserver}"
}

# lcp::save_env records the settings of the running control plane in $LOCAL_ENV.
lcp::save_env() {
  # embedded: in replica 0; external: one etcd process the replicas share; cluster: an etcd
  # cluster of ETCD_MEMBERS members with TLS (hack/lib/tenancy-etcd.sh).
  local tenancy_etcd_mode=embedded
  ((REPLICAS > 1)) && tenancy_etcd_mode=external
  ((ETCD_MEMBERS > 1)) && tenancy_etcd_mode=cluster
  {
    echo "# Settings of the local control plane started by hack/local-up.sh."
    local name
    for name in ETCD_PORT ETCD_PEER_PORT TENANCY_ETCD_PORT TENANCY_ETCD_PEER_PORT \
      KUBE_APISERVER_PORT KUBE_CONTROLLER_MANAGER_PORT TENANCY_PORT REPLICAS TENANCY ETCD_MEMBERS \
      SERVICE_CLUSTER_IP_RANGE KUBERNETES_SERVICE_IP TENANCY_NAMESPACE TENANCY_SERVICE; do
      lcp::env_line "$name" "${!name}"
    done
    # Set by the other libraries' defaults, or only with a node or a second plane.
    for name in NODE NODE_NAME NODE_BRIDGE NODE_IP NODE_PREFIX POD_CIDR KUBE_ROUTER_HEALTH_PORT \
      KUBELET_HEALTHZ_PORT KUBE_SCHEDULER_PORT KUBE_PROXY_HEALTHZ_PORT KUBE_PROXY_METRICS_PORT \
      OIDC_PORT REGISTRY REGISTRY_PORT SECOND_PLANE_OF; do
      if [[ -v $name ]]; then lcp::env_line "$name" "${!name}"; fi
    done
    lcp::env_line TENANCY_ETCD_MODE "$tenancy_etcd_mode"
    lcp::env_line KUBECONFIG_ADMIN "$LOCAL_DIR/kubeconfig"
    lcp::env_line PKI_DIR "$LOCAL_PKI"
    lcp::env_line LOGS_DIR "$LOCAL_LOGS"
    lcp::env_line PIDS_DIR "$LOCAL_PIDS"
  } >"$LOCAL_ENV.tmp"
  mv "$LOCAL_ENV.tmp" "$LOCAL_ENV"
}

# lcp::env_line NAME VALUE prints the line of $LOCAL_ENV that sets NAME to VALUE: VALUE as it
# is when no character of it means anything to a shell, otherwise in single quotes (a ' in it
# as '\''). bash (lcp::load_env) and test/localenv read it back unchanged; a VALUE with a
# newline, which would break the one-setting-a-line format, fails.
lcp::env_line() {
  [[ $2 != *$'\n'* ]] || lcp::fail "the setting $1 holds a newline"
  if [[ $2 =~ ^[A-Za-z0-9_./:@%+,=-]*$ ]]; then
    printf '%s=%s\n' "$1" "$2"
  else
    local quote="'\\''"
    printf "%s='%s'\n" "$1" "${2//\'/$quote}"
  fi
}

# lcp::load_env reads the settings of the running control plane.
lcp::load_env() {
  if [[ ! -f $LOCAL_ENV ]]; then
    lcp::fail "no local control plane in $LOCAL_DIR: run hack/local-up.sh first"
  fi
  # shellcheck disable=SC1090
  source "$LOCAL_ENV"
}

lcp::log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

lcp::fail() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# lcp::pid_of NAME prints the PID recorded for NAME when that process still runs the recorded
# binary, so a recycled PID is never mistaken for ours.
lcp::pid_of() {
  local file=$LOCAL_PIDS/$1.pid pid binary
  [[ -f $file ]] || return 1
  read -r pid binary <"$file" || true
  [[ $pid =~ ^[0-9]+$ && -n $binary ]] || return 1
  lcp::runs "$pid" "$binary" || return 1
  echo "$pid"
}

# lcp::runs PID BINARY succeeds when process PID has become BINARY: its argv[0] is BINARY (a
# shell that has not yet exec'd it shows its own name there).
lcp::runs() {
  local argv0
  [[ -r /proc/$1/cmdline ]] || return 1
  argv0=$(tr '\0' '\n' 2>/dev/null <"/proc/$1/cmdline" | head -n1) || return 1
  [[ $argv0 == "$2" ]]
}

# lcp::running PID succeeds while the process exists and has not finished exiting (a zombie
# waiting for its parent has, and holds no port or file any more).
lcp::running() {
  local stat
  stat=$(cat 2>/dev/null "/proc/$1/stat") || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# lcp::start NAME BINARY ARGS... runs BINARY in its own session, detached from this shell,
# with its output appended to $LOCAL_LOGS/NAME.log and its PID in $LOCAL_PIDS/NAME.pid.
# The PID file appears only once the process runs BINARY, so lcp::pid_of never sees the shell
# that is about to exec it. When BINARY exits at once, or has not started after START_TIMEOUT
# seconds (default 60), lcp::start kills what it started and fails.
lcp::start() {
  local name=$1 binary=$2
  shift 2
  mkdir -p "$LOCAL_PIDS" "$LOCAL_LOGS"
  if lcp::pid_of "$name" >/dev/null; then
    lcp::fail "$name is already running (PID $(lcp::pid_of "$name"))"
  fi
  local pidfile=$LOCAL_PIDS/$name.pid log=$LOCAL_LOGS/$name.log
  local starting=$pidfile.starting
  rm -f "$pidfile" "$starting"
  printf '==== %s: %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$binary" "$*" >>"$log"
  # The child writes its own PID, then becomes the binary: the PID is the server's.
  setsid bash -c 'echo "$$ $1" >"$0.tmp" && mv "$0.tmp" "$0" && shift && exec "$@"' \
    "$starting" "$binary" "$binary" "$@" </dev/null >>"$log" 2>&1 &
  local pid="" deadline=$(($(lcp::now_us) + ${START_TIMEOUT:-60} * 1000000))
  while :; do
    if [[ -z $pid && -s $starting ]]; then
      read -r pid _ <"$starting" || pid=""
    fi
    if [[ -n $pid ]]; then
      if lcp::runs "$pid" "$binary"; then
        mv "$starting" "$pidfile"
        return 0
      fi
      if ! lcp::running "$pid"; then
        rm -f "$starting"
        lcp::show_log "$name"
        lcp::fail "$name exited at once; see $log"
      fi
    fi
    if (($(lcp::now_us) >= deadline)); then
      if [[ -n $pid ]]; then
        kill -KILL "$pid" 2>/dev/null || true
      fi
      rm -f "$starting"
      lcp::fail "$name did not start within ${START_TIMEOUT:-60}s; see $log"
    fi
    sleep 0.05
  done
}

# lcp::stop NAME... sends SIGTERM to the recorded processes, waits up to STOP_TIMEOUT seconds
# (default 30) for them to exit, then sends SIGKILL to those left and waits for them too.
lcp::stop() {
  local name pid pids=() names=()
  for name in "$@"; do
    if pid=$(lcp::pid_of "$name"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
      names+=("$name")
    fi
  done
  local timeout=${STOP_TIMEOUT:-30} i alive deadline killed=0
  deadline=$(($(lcp::now_us) + timeout * 1000000))
  while ((${#pids[@]} > 0)); do
    alive=()
    for i in "${!pids[@]}"; do
      if lcp::running "${pids[$i]}"; then
        alive+=("$i")
      fi
    done
    ((${#alive[@]} == 0)) && break
    if (($(lcp::now_us) >= deadline)); then
      if ((killed)); then
        lcp::log "still running 10s after SIGKILL: ${names[*]}"
        return 1
      fi
      killed=1
      for i in "${alive[@]}"; do
        lcp::log "${names[$i]} (PID ${pids[$i]}) ignored SIGTERM for ${timeout}s; killing it"
        kill -KILL "${pids[$i]}" 2>/dev/null || true
      done
      deadline=$(($(lcp::now_us) + 10000000))
    fi
    sleep 0.2
  done
  for name in "$@"; do
    rm -f "$LOCAL_PIDS/$name.pid"
  done
}

# lcp::now_us prints the time in microseconds.
lcp::now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

# lcp::port_free PORT succeeds when nothing listens on 127.0.0.1:PORT.
lcp::port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# lcp::port_holder PORT names the process that listens on PORT: "PID 123 (kube-apiserver)".
lcp::port_holder() {
  local inode link pid
  inode=$(awk -v port="$(printf ':%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == port { print $10; exit }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null)
  if [[ -n $inode ]]; then
    link=$(find /proc/[0-9]*/fd -lname "socket:\[$inode\]" -print -quit 2>/dev/null)
    if [[ $link =~ ^/proc/([0-9]+)/ ]]; then
      pid=${BASH_REMATCH[1]}
      printf 'PID %s (%s)\n' "$pid" "$(cat "/proc/$pid/comm" 2>/dev/null)"
      return
    fi
  fi
  echo "a process this user cannot see"
}

# lcp::port_list prints "NAME PORT" for every port on 127.0.0.1 that a control plane of the
# current settings listens on (lcp::defaults and the other libraries' defaults, or a recorded
# env file, set them). NAME is the setting, or how the port follows from one: TENANCY_PORT+1
# is replica 1's, TENANCY_ETCD_PORT+10*1 the tenancy etcd cluster's member 1's.
lcp::port_list() {
  local name i
  for name in ETCD_PORT ETCD_PEER_PORT KUBE_APISERVER_PORT KUBE_CONTROLLER_MANAGER_PORT OIDC_PORT; do
    if [[ -n ${!name:-} ]]; then echo "$name ${!name}"; fi
  done
  if [[ ${TENANCY:-1} == 1 ]]; then
    echo "TENANCY_ETCD_PORT $TENANCY_ETCD_PORT"
    echo "TENANCY_ETCD_PEER_PORT $TENANCY_ETCD_PEER_PORT"
    echo "TENANCY_PORT $TENANCY_PORT"
    for ((i = 1; i < ${REPLICAS:-1}; i++)); do
      echo "TENANCY_PORT+$i $((TENANCY_PORT + i))"
    done
    for ((i = 1; i < ${ETCD_MEMBERS:-1}; i++)); do
      echo "TENANCY_ETCD_PORT+10*$i $((TENANCY_ETCD_PORT + 10 * i))"
      echo "TENANCY_ETCD_PEER_PORT+10*$i $((TENANCY_ETCD_PEER_PORT + 10 * i))"
    done
  fi
  if [[ ${NODE:-0} == 1 ]]; then
    for name in KUBELET_HEALTHZ_PORT KUBE_SCHEDULER_PORT KUBE_PROXY_HEALTHZ_PORT KUBE_PROXY_METRICS_PORT \
      KUBE_ROUTER_HEALTH_PORT; do
      if [[ -n ${!name:-} ]]; then echo "$name ${!name}"; fi
    done
  fi
  if [[ ${REGISTRY:-0} == 1 ]]; then
    echo "REGISTRY_PORT $REGISTRY_PORT"
  fi
}

# lcp::recorded DIR COMMAND... runs COMMAND in a subshell with the settings of the control
# plane recorded in DIR/env instead of the current ones (OIDC_PORT and REGISTRY_PORT from
# their addresses where an older local-up did not record them).
lcp::recorded() (
  local dir=$1 name
  shift
  for name in ETCD_PORT ETCD_PEER_PORT TENANCY_ETCD_PORT TENANCY_ETCD_PEER_PORT KUBE_APISERVER_PORT \
    KUBE_CONTROLLER_MANAGER_PORT TENANCY_PORT REPLICAS TENANCY ETCD_MEMBERS NODE OIDC_PORT REGISTRY \
    REGISTRY_PORT KUBELET_HEALTHZ_PORT KUBE_SCHEDULER_PORT KUBE_PROXY_HEALTHZ_PORT \
    KUBE_PROXY_METRICS_PORT KUBE_ROUTER_HEALTH_PORT OIDC_ISSUER_URL REGISTRY_ADDRESS; do
    unset "$name"
  done
  # shellcheck disable=SC1091
  source "$dir/env"
  if [[ -z ${OIDC_PORT:-} && ${OIDC_ISSUER_URL:-} =~ :([0-9]+)(/|$) ]]; then
    OIDC_PORT=${BASH_REMATCH[1]}
  fi
  if [[ -z ${REGISTRY:-} ]]; then
    REGISTRY=0
    if [[ -n ${REGISTRY_ADDRESS:-} ]]; then
      REGISTRY=1 REGISTRY_PORT=${REGISTRY_ADDRESS##*:}
    fi
  fi
  "$@"
)

# lcp::second_plane FIRST sets the ports of a second local control plane beside the one
# recorded in FIRST (that plane's LOCAL_DIR): each of its ports plus PLANE_OFFSET (default
# 1000), the registry's included, and its OIDC issuer's port plus 1. A second plane needs a
# LOCAL_DIR of its own and runs no node (one node a host). lcp::check_ports then refuses a
# derived port that the first plane uses as well.
lcp::second_plane() {
  local first offset=${PLANE_OFFSET:-1000} name base
  [[ -f $1/env ]] || lcp::fail "SECOND_PLANE_OF=$1: no control plane is recorded there (no $1/env): start that one first"
  first=$(realpath -m "$1")
  [[ $(realpath -m "$LOCAL_DIR") != "$first" ]] ||
    lcp::fail "SECOND_PLANE_OF is LOCAL_DIR ($first): a second control plane needs a LOCAL_DIR of its own"
  [[ $offset =~ ^[1-9][0-9]*$ ]] || lcp::fail "PLANE_OFFSET must be a positive number, not '$offset'"
  : "${NODE:=0}"
  [[ $NODE == 0 ]] || lcp::fail "a second control plane runs no node (one node a host): NODE=0"
  SECOND_PLANE_OF=$first
  for name in ETCD_PORT ETCD_PEER_PORT TENANCY_ETCD_PORT TENANCY_ETCD_PEER_PORT KUBE_APISERVER_PORT \
    KUBE_CONTROLLER_MANAGER_PORT TENANCY_PORT REGISTRY_PORT OIDC_PORT; do
    base=$(lcp::recorded "$first" lcp::print_var "$name")
    if [[ -z $base && $name == REGISTRY_PORT ]]; then
      base=25443
    fi
    [[ $base =~ ^[0-9]+$ ]] || lcp::fail "$first/env: $name is '$base', not a port"
    if [[ $name == OIDC_PORT ]]; then
      printf -v "$name" '%d' $((base + 1))
    else
      printf -v "$name" '%d' $((base + offset))
    fi
  done
}

lcp::print_var() { echo "${!1:-}"; }

# lcp::check_ports fails, naming each port and what holds it, when a port of lcp::port_list
# is no port number, is given to two settings, is one the first plane of SECOND_PLANE_OF uses,
# or is taken on 127.0.0.1.
lcp::check_ports() {
  local line name port problems=() names=() ports=()
  local -A mine=() theirs=()
  while read -r name port; do
    if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
      problems+=("$name $port is no port number")
    elif [[ -n ${mine[$port]:-} ]]; then
      problems+=("$name $port is ${mine[$port]} as well")
    else
      mine[$port]=$name
      names+=("$name") ports+=("$port")
    fi
  done < <(lcp::port_list)
  if [[ -n ${SECOND_PLANE_OF:-} ]]; then
    while read -r name port; do
      theirs[$port]=$name
    done < <(lcp::recorded "$SECOND_PLANE_OF" lcp::port_list)
  fi
  local i
  for i in "${!ports[@]}"; do
    port=${ports[$i]}
    if [[ -n ${theirs[$port]:-} ]]; then
      problems+=("${names[$i]} $port is the ${theirs[$port]} of the control plane in $SECOND_PLANE_OF")
    elif ! lcp::port_free "$port"; then
      problems+=("${names[$i]} $port is taken by $(lcp::port_holder "$port")")
    fi
  done
  if ((${#problems[@]} > 0)); then
    local IFS=';'
    lcp::fail "ports of the local control plane on 127.0.0.1:${problems[*]/#/ } (another local control plane? set the *_PORT variables, or SECOND_PLANE_OF)"
  fi
}

# lcp::get_raw URL_PATH CLIENT_ARGS... asks a server for a path with kubectl (no curl needed).
lcp::get_raw() {
  local path=$1
  shift
  "$KUBECTL" --kubeconfig=/dev/null "$@" get --raw "$path" --request-timeout=5s </dev/null 2>/dev/null
}

# lcp::wait_until NAME TIMEOUT WHAT COMMAND... polls COMMAND until it succeeds. It gives up at
# once when the process NAME exits, and shows the end of its log.
lcp::wait_until() {
  local name=$1 timeout=$2 what=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if ! lcp::pid_of "$name" >/dev/null; then
      lcp::show_log "$name"
      lcp::fail "$name exited while starting; log: $LOCAL_LOGS/$name.log"
    fi
    if ((SECONDS >= deadline)); then
      lcp::show_log "$name"
      lcp::fail "$name: $what after ${timeout}s; log: $LOCAL_LOGS/$name.log"
    fi
    sleep 0.5
  done
}

lcp::answers_ok() { [[ $(lcp::get_raw "$@") == ok ]]; }

# lcp::wait_healthy NAME TIMEOUT URL_PATH CLIENT_ARGS... polls until the path answers "ok".
lcp::wait_healthy() {
  local name=$1 timeout=$2
  shift 2
  lcp::wait_until "$name" "$timeout" "$1 did not answer ok" lcp::answers_ok "$@"
}

lcp::show_log() {
  echo "---- last lines of $LOCAL_LOGS/$1.log ----" >&2
  tail -n 30 "$LOCAL_LOGS/$1.log" >&2 || true
  echo "----" >&2
}

# lcp::flags FILE NAME=VALUE... prints the flags of FILE (one per line, # comments), with
# each {NAME} replaced by its VALUE. It fails on a {name} left unfilled.
lcp::flags() {
  local file=$1 line pair name
  shift
  while IFS= read -r line; do
    [[ -z $line || $line == \#* ]] && continue
    for pair in "$@"; do
      name=${pair%%=*}
      line=${line//"{$name}"/"${pair#*=}"}
    done
    [[ $line == *"{"*"}"* ]] && lcp::fail "$file: nothing fills in $line"
    printf '%s\n' "$line"
  done <"$file"
}
