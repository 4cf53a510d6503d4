#!/usr/bin/env bash
# The local node of hack/local-up.sh: containerd, kubelet, kube-scheduler, kube-proxy (iptables
# mode) and kube-router (NetworkPolicy firewall only), on a bridge of their own. Source it after
# common.sh; it defines variables and functions only. hack/local-down.sh undoes all of it.
#
# Network (documentation ranges, so nothing can be routed off this machine):
#   NODE_BRIDGE (tenancy0)   a bridge local-up creates, with NODE_IP/24 (198.51.100.1): the
#                            node's InternalIP, where kube-apiserver listens for Pods and the
#                            `kubernetes` Service's endpoints point
#   POD_CIDR (198.51.100.128/25)  the Pods' range, a slice of the bridge's network, on that
#                            bridge only (CNI bridge + host-local, gateway NODE_IP); the node's
#                            spec.podCIDR
# 192.0.2.0/24 is not used: machines of this kind have their own uplink in it. local-up refuses
# ranges that overlap a route it did not make. Packets from the bridge are forwarded only back
# into it (chain TENANCY-LOCAL-FORWARD), and kube-apiserver's port and kube-router's health
# port answer only on loopback and the bridge (TENANCY-LOCAL-INPUT). The Pods' DNS server
# (the kubelet's clusterDNS) is hack/localdns on NODE_IP:53 (UDP): the cluster's Service and
# StatefulSet member names, NXDOMAIN for every other name.
#
# Host state: everything the node writes lives in $LOCAL_DIR/node (containerd's root, state and
# socket, the kubelet's root, CNI config and IPAM), except what the components hard-code:
# /run/netns (Pod network namespaces), /var/log/pods and /var/log/containers, /run/containerd
# (shim sockets), /run/xtables.lock, iptables chains, ipsets, cgroups kubepods*, and sysctls.
# local-up records them in $NODE_DIR/host before it starts anything; local-down removes what
# was added and restores the recorded sysctls.

NODE_DIR=$LOCAL_DIR/node
NODE_HOST=$LOCAL_DIR/node-host

# node::defaults sets every node tunable not set in the environment.
node::defaults() {
  : "${NODE:=1}" "${NODE_NAME:=tenancy-local-node}" "${NODE_BRIDGE:=tenancy0}"
  : "${NODE_IP:=198.51.100.1}" "${NODE_PREFIX:=24}" "${POD_CIDR:=198.51.100.128/25}"
  : "${KUBELET_PORT:=10250}" "${KUBELET_HEALTHZ_PORT:=10248}"
  : "${KUBE_SCHEDULER_PORT:=10259}" "${KUBE_PROXY_HEALTHZ_PORT:=10256}" "${KUBE_PROXY_METRICS_PORT:=10249}"
  : "${KUBE_ROUTER_HEALTH_PORT:=20244}"
  : "${PAUSE_IMAGE:=registry.k8s.io/pause:local}"
  CONTAINERD_SOCK=$NODE_DIR/containerd/containerd.sock
}

# Sysctls the node's components set (the kubelet's kernel defaults, the bridge plugin's and
# kube-proxy's forwarding and bridge netfilter); local-down puts back the recorded values.
NODE_SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
  net.ipv4.conf.all.route_localnet vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
# Paths the components use whatever they are told; local-down removes those local-up created,
# and the entries added inside those that existed.
NODE_HOST_PATHS=(/run/netns /var/log/pods /var/log/containers /run/containerd /run/xtables.lock
  /var/lib/kubelet /var/lib/cni /var/lib/containerd /etc/cni /opt/cni /var/lib/kube-router)
NODE_PACKAGES=(containerd runc containernetworking-plugins iptables conntrack ipset nftables)
NODE_CNI_BIN=/usr/lib/cni

node::ctr() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }
node::containerd_answers() { node::ctr version >/dev/null 2>&1; }

# node::install_packages installs the Debian packages the node needs when any is missing.
node::install_packages() {
  local missing=() pkg
  for pkg in "${NODE_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return
  lcp::log "installing ${missing[*]} (apt-get)"
  command -v apt-get >/dev/null || lcp::fail "the node needs ${missing[*]}; install them or run with NODE=0"
  # The packages' own services are not started: local-up runs containerd itself.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  local rc=$?
  if ((created_policy)); then rm -f "$policy"; fi
  ((rc == 0)) || lcp::fail "apt-get install ${missing[*]} failed"
}

# node::check_host fails when the node cannot run here: not root, no binaries, or its ranges
# overlap a network of this machine.
node::check_host() {
  ((EUID == 0)) || lcp::fail "the node needs root (run with NODE=0 to skip it)"
  local b
  for b in kubelet kube-scheduler kube-proxy kube-router localdns; do
    [[ -x $LOCAL_BIN/$b ]] || lcp::fail "$LOCAL_BIN/$b is missing: run make node"
  done
  [[ -f $LOCAL_ROOT/_output/images/pause.tar ]] || lcp::fail "_output/images/pause.tar is missing: run make node"
  # The bridge has one IPv4 address, NODE_IP, which is also the Pods' gateway (the bridge
  # plugin refuses a bridge with another address), so the Pods' range is a slice of its network
  # that does not hold NODE_IP.
  if ! node::contains "$(node::network)" "${POD_CIDR%/*}" || ((${POD_CIDR#*/} <= NODE_PREFIX)) ||
    node::contains "$POD_CIDR" "$NODE_IP"; then
    lcp::fail "POD_CIDR $POD_CIDR must be a smaller slice of $(node::network) that does not hold NODE_IP $NODE_IP"
  fi
  local net
  for net in "$NODE_IP/$NODE_PREFIX" "$POD_CIDR"; do
    if ip -4 route show to match "${net%/*}" | grep -v "dev $NODE_BRIDGE" | grep -qv '^default'; then
      lcp::fail "$net overlaps a network of this machine ($(ip -4 route show to match "${net%/*}" | grep -v '^default' | head -1)); set NODE_IP and POD_CIDR"
    fi
  done
}

# node::record_host saves, once, what local-down must restore: sysctls, the listed paths and
# their entries, cgroups, network namespaces. A record left from an unfinished local-down is
# kept, so the host's original state is what is restored.
node::record_host() {
  [[ -f $NODE_HOST/complete ]] && return
  rm -rf "$NODE_HOST"
  mkdir -p "$NODE_HOST"
  local name p
  for name in "${NODE_SYSCTLS[@]}"; do
    if p=$(sysctl -n "$name" 2>/dev/null); then
      printf '%s=%s\n' "$name" "$p"
    fi
  done >"$NODE_HOST/sysctls"
  for p in "${NODE_HOST_PATHS[@]}"; do
    if [[ -e $p ]]; then
      echo "$p"
      if [[ -d $p ]]; then find "$p" -mindepth 1 -maxdepth 1 -printf '%p\n'; fi
    fi
  done >"$NODE_HOST/paths"
  node::cgroups >"$NODE_HOST/cgroups"
  ipset list -n 2>/dev/null | sort >"$NODE_HOST/ipsets" || true
  nft list tables 2>/dev/null | sort >"$NODE_HOST/nft-tables" || true
  touch "$NODE_HOST/complete"
}

# node::cgroups lists the kubepods cgroups of every hierarchy.
node::cgroups() {
  find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name 'kubepods*' 2>/dev/null | sort
}

# node::network_up creates the bridge with the node's address and the chains that keep the
# node's traffic on this machine.
node::network_up() {
  if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    ip link add "$NODE_BRIDGE" type bridge
  fi
  ip addr replace "$NODE_IP/$NODE_PREFIX" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  node::chain filter TENANCY-LOCAL-FORWARD FORWARD \
    "-i $NODE_BRIDGE -o $NODE_BRIDGE -j ACCEPT" \
    "-i $NODE_BRIDGE -j DROP" \
    "-o $NODE_BRIDGE -j DROP"
  # kube-apiserver listens on every address for Pods to reach it on the bridge, and
  # kube-router's health endpoint on every address too; only loopback and the bridge may.
  node::chain filter TENANCY-LOCAL-INPUT INPUT \
    "-i lo -j RETURN" \
    "-i $NODE_BRIDGE -j RETURN" \
    "-p tcp --dport $KUBE_APISERVER_PORT -j DROP" \
    "-p tcp --dport $KUBE_ROUTER_HEALTH_PORT -j DROP"
}

# node::chain TABLE CHAIN HOOK RULE... (re)creates CHAIN with RULEs, jumped to first from HOOK.
node::chain() {
  local table=$1 chain=$2 hook=$3 rule
  shift 3
  iptables -w -t "$table" -N "$chain" 2>/dev/null || iptables -w -t "$table" -F "$chain"
  for rule in "$@"; do
    # shellcheck disable=SC2086
    iptables -w -t "$table" -A "$chain" $rule
  done
  iptables -w -t "$table" -C "$hook" -j "$chain" 2>/dev/null || iptables -w -t "$table" -I "$hook" 1 -j "$chain"
}

# node::ip_to_int IP / node::int_to_ip N convert an IPv4 address to a number and back.
node::ip_to_int() {
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  echo $(((a << 24) | (b << 16) | (c << 8) | d))
}
node::int_to_ip() { echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"; }
node::ip_add() { node::int_to_ip $(($(node::ip_to_int "$1") + $2)); }
# node::broadcast CIDR prints the last address of CIDR.
node::broadcast() { node::int_to_ip $(($(node::ip_to_int "${1%/*}") | ((1 << (32 - ${1#*/})) - 1))); }
# node::network prints the bridge's network, NODE_IP/NODE_PREFIX with the host bits cleared.
node::network() {
  echo "$(node::int_to_ip $(($(node::ip_to_int "$NODE_IP") & ~((1 << (32 - NODE_PREFIX)) - 1) & 0xffffffff)))/$NODE_PREFIX"
}
# node::contains CIDR IP succeeds when IP is in CIDR.
node::contains() {
  local mask=$((~((1 << (32 - ${1#*/})) - 1) & 0xffffffff))
  (((($(node::ip_to_int "$2") & mask)) == (($(node::ip_to_int "${1%/*}") & mask))))
}

# node::write_configs writes containerd's, the kubelet's, kube-proxy's and CNI's configuration.
node::write_configs() {
  mkdir -p "$NODE_DIR"/{containerd,kubelet,cni/net.d,cni/networks}
  cat >"$NODE_DIR/containerd/config.toml" <<EOF
# containerd of the local node (hack/lib/node.sh): its own root, state and socket, so the
# host's containerd, if any, is not disturbed.
version = 2
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # root here lacks CAP_SYS_RESOURCE: without this runc fails with "can't get final child's
  # PID from pipe" when it lowers the OOM score adjustment.
  restrict_oom_score_adj = true
  enable_selinux = false
  # The walkthrough's stand-ins listen on their images' ports (nginx :80) as a non-root user.
  enable_unprivileged_ports = true
  [plugins."io.containerd.grpc.v1.cri".registry]
    # docker.io's only host is the loopback registry (node::write_registry_hosts).
    config_path = "$NODE_DIR/containerd/certs.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$NODE_CNI_BIN"
    conf_dir = "$NODE_DIR/cni/net.d"
EOF
  cat >"$NODE_DIR/cni/net.d/10-tenancy-local.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "tenancy-local",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$NODE_DIR/cni/networks",
        "ranges": [[{"subnet": "$(node::network)", "gateway": "$NODE_IP",
          "rangeStart": "$(node::ip_add "${POD_CIDR%/*}" 1)", "rangeEnd": "$(node::ip_add "$(node::broadcast "$POD_CIDR")" -1)"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  cat >"$NODE_DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $LOCAL_PKI/ca.crt}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
# This machine kind runs cgroup v1, which kubelet 1.36 refuses unless told.
failCgroupV1: false
failSwapOn: false
clusterDomain: cluster.local
# The cluster's names are answered by localdns on the node's address; no resolver from the
# host, so nothing in a Pod resolves names off this machine.
clusterDNS: [$NODE_IP]
resolvConf: ""
registerNode: true
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
rotateCertificates: false
serverTLSBootstrap: false
EOF
  cat >"$NODE_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
clientConnection:
  kubeconfig: $LOCAL_PKI/kube-proxy.kubeconfig
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$KUBE_PROXY_METRICS_PORT
# NodePorts only on the node's bridge address, never on this machine's other interfaces.
nodePortAddresses: ["$NODE_IP/32"]
# The host's conntrack settings are left alone.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
}

# node::write_registry_hosts makes the loopback registry docker.io's only host for containerd,
# with its CA and password: nothing is pulled from the internet. Without the registry, no host
# file is written, and images must be on the node already.
node::write_registry_hosts() {
  local dir=$NODE_DIR/containerd/certs.d/docker.io
  rm -rf "$dir"
  if [[ $REGISTRY != 1 ]]; then
    return
  fi
  local url=https://127.0.0.1:$REGISTRY_PORT credentials
  credentials=$(printf '%s:%s' "$REGISTRY_USERNAME" "$(tr -d '[:space:]' <"$LOCAL_REGISTRY/password")" | base64 -w0)
  mkdir -p "$dir"
  (umask 077 && cat >"$dir/hosts.toml" <<EOF
# docker.io is the loopback registry alone (hack/lib/node.sh). containerd 1.6 wants a [host]
# entry and tries the server after it: both are the registry, with its CA and password, so
# there is no other host to fall back to.
server = "$url"
capabilities = ["pull", "resolve"]
ca = "$LOCAL_REGISTRY/certs/ca.crt"
[header]
  authorization = "Basic $credentials"
[host."$url"]
  capabilities = ["pull", "resolve"]
  ca = "$LOCAL_REGISTRY/certs/ca.crt"
  [host."$url".header]
    authorization = "Basic $credentials"
EOF
  )
}

# node::rbac grants kube-apiserver's kubelet client the kubelet API, and kube-router what its
# firewall watches.
node::rbac() {
  "$KUBECTL" --kubeconfig="$LOCAL_DIR/kubeconfig" apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: tenancy-local:kube-apiserver-kubelet-client
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:kubelet-api-admin"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: kube-apiserver-kubelet-client}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: tenancy-local:kube-router
rules:
- apiGroups: [""]
  resources: [namespaces, pods, services, endpoints, nodes]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: tenancy-local:kube-router
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "tenancy-local:kube-router"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:kube-router"}]
EOF
}

node::start_containerd() {
  lcp::log "starting containerd (socket $CONTAINERD_SOCK)"
  ((${#CONTAINERD_SOCK} < 100)) || lcp::fail "containerd's socket path is too long for a unix socket: $CONTAINERD_SOCK (set LOCAL_DIR shorter)"
  lcp::start containerd "$(command -v containerd)" --config="$NODE_DIR/containerd/config.toml"
  lcp::wait_until containerd 60 "its socket did not answer" node::containerd_answers
  lcp::log "importing the pause image"
  node::ctr images import --no-unpack "$LOCAL_ROOT/_output/images/pause.tar" >/dev/null
  node::import_images
}

# node::import_images imports the images Pods run with no registry (pullPolicy Never), when
# they are packed: the product's (make image) and etcd's (make etcd-image, for the chart's
# bundled etcd), and records their names in $LOCAL_ENV as SERVER_IMAGE and ETCD_IMAGE.
node::import_images() {
  local image file name
  for image in SERVER_IMAGE=tenancy-apiserver ETCD_IMAGE=etcd; do
    file=$LOCAL_ROOT/_output/images/${image#*=}.tar
    [[ -f $file ]] || continue
    name=$(tar -xOf "$file" index.json | sed -n 's/.*"io\.containerd\.image\.name": *"\([^"]*\)".*/\1/p' | head -n1)
    [[ -n $name ]] || lcp::fail "$file names no image (no io.containerd.image.name in its index.json)"
    lcp::log "importing $name"
    node::ctr images import --no-unpack "$file" >/dev/null
    lcp::env_line "${image%%=*}" "$name" >>"$LOCAL_ENV"
  done
}

node::start_kube_scheduler() {
  lcp::log "starting kube-scheduler"
  local kc=$LOCAL_PKI/kube-scheduler.kubeconfig
  lcp::start kube-scheduler "$LOCAL_BIN/kube-scheduler" --kubeconfig="$kc" \
    --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
    --bind-address=127.0.0.1 --secure-port="$KUBE_SCHEDULER_PORT" --leader-elect=false --profiling=false
}

# node::start_dns starts hack/localdns, the cluster DNS, on the node's address (UDP port 53),
# with kube-proxy's credentials: it reads Services and EndpointSlices as kube-proxy does.
node::start_dns() {
  lcp::log "starting localdns, the cluster DNS, on $NODE_IP:53 (udp)"
  lcp::start localdns "$LOCAL_BIN/localdns" --listen="$NODE_IP:53" \
    --kubeconfig="$LOCAL_PKI/kube-proxy.kubeconfig" --domain=cluster.local
}

node::start_kubelet() {
  lcp::log "starting kubelet (node $NODE_NAME, $NODE_IP)"
  lcp::start kubelet "$LOCAL_BIN/kubelet" --config="$NODE_DIR/kubelet/config.yaml" \
    --kubeconfig="$LOCAL_PKI/kubelet.kubeconfig" --root-dir="$NODE_DIR/kubelet/root" \
    --cert-dir="$NODE_DIR/kubelet/pki" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP"
}

node::start_kube_proxy() {
  lcp::log "starting kube-proxy (iptables mode)"
  lcp::start kube-proxy "$LOCAL_BIN/kube-proxy" --config="$NODE_DIR/kube-proxy.yaml"
}

node::start_kube_router() {
  lcp::log "starting kube-router (NetworkPolicy firewall only)"
  lcp::start kube-router "$LOCAL_BIN/kube-router" --kubeconfig="$LOCAL_PKI/kube-router.kubeconfig" \
    --hostname-override="$NODE_NAME" --run-firewall=true --run-router=false --run-service-proxy=false \
    --health-port="$KUBE_ROUTER_HEALTH_PORT" --metrics-port=0
}

node::ready() {
  [[ $("$KUBECTL" --kubeconfig="$LOCAL_DIR/kubeconfig" get node "$NODE_NAME" \
    -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}

# node::up starts the node on a running control plane and waits until it is Ready.
node::up() {
  node::check_host
  node::record_host
  node::network_up
  node::write_configs
  node::write_registry_hosts
  node::rbac
  node::start_containerd
  node::start_kube_scheduler
  node::start_dns
  node::start_kubelet
  node::start_kube_proxy
  lcp::wait_until kubelet "${NODE_READY_TIMEOUT:-120}" "node $NODE_NAME did not become Ready" node::ready
  lcp::log "node $NODE_NAME is Ready"
  # kube-router exits at once when its Node does not exist yet: it starts after the kubelet
  # registered the node.
  node::start_kube_router
}

# node::down removes what node::up added to the host. The node's processes must be stopped.
node::down() {
  [[ -d $NODE_DIR || -d $NODE_HOST ]] || return 0
  lcp::log "removing the node's containers, mounts, network and state from the host"
  node::kill_containers
  node::clean_iptables
  node::unmount
  if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then ip link delete "$NODE_BRIDGE"; fi
  if [[ -f $NODE_HOST/complete ]]; then
    node::restore_paths
    node::remove_cgroups
    local line
    while IFS= read -r line; do
      if [[ -n $line ]] && ! sysctl -q -w "$line" >/dev/null 2>&1; then
        lcp::log "could not restore sysctl $line"
      fi
    done <"$NODE_HOST/sysctls"
    node::drop_new_tables
    local set
    while read -r set; do
      grep -qx "$set" "$NODE_HOST/ipsets" || ipset destroy "$set" 2>/dev/null || true
    done < <(ipset list -n 2>/dev/null)
  fi
  rm -rf "$NODE_DIR" "$NODE_HOST"
}

# node::kill_containers ends the Pods' processes containerd's shims left running after the
# kubelet and containerd stopped: every process whose cgroup is under kubepods.
node::kill_containers() {
  local pids=() pid i
  for ((i = 0; i < 50; i++)); do
    mapfile -t pids < <(grep -l -E ':/kubepods' /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3)
    pids+=($(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" || true))
    ((${#pids[@]} == 0)) && return
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    sleep 0.1
  done
  lcp::log "processes of the node still running: ${pids[*]}"
}

# node::clean_iptables removes every chain and rule of the node's components (KUBE-*, of
# kube-proxy, the kubelet and kube-router, and TENANCY-LOCAL-*), leaving other rules alone.
node::clean_iptables() {
  local cmd table rules
  for cmd in iptables ip6tables; do
    command -v "$cmd-save" >/dev/null || continue
    for table in filter nat mangle raw; do
      # The rules are read whole first: `save | grep -q` fails under pipefail when grep quits
      # before a long save is written (SIGPIPE), and the table would be skipped.
      rules=$("$cmd-save" -t "$table" 2>/dev/null) || continue
      grep -q -e KUBE- -e TENANCY-LOCAL- <<<"$rules" || continue
      grep -v -e KUBE- -e TENANCY-LOCAL- <<<"$rules" | "$cmd-restore" -w -T "$table"
    done
  done
}

# node::drop_new_tables deletes the nftables tables that iptables-nft created for the node
# (they did not exist before local-up) once they hold no rule and only ACCEPT policies.
node::drop_new_tables() {
  command -v nft >/dev/null || return 0
  local family table cmd
  while read -r _ family table; do
    grep -qx "table $family $table" "$NODE_HOST/nft-tables" && continue
    case $family in ip) cmd=iptables ;; ip6) cmd=ip6tables ;; *) continue ;; esac
    if ! grep -q -e '^-A' -e '^:[^ ]* DROP' -e '^:[^ ]* REJECT' <<<"$("$cmd-save" -t "$table" 2>/dev/null)"; then
      nft delete table "$family" "$table" 2>/dev/null || true
    fi
  done < <(nft list tables 2>/dev/null)
  return 0
}

# node::unmount unmounts what the node mounted: anything under $NODE_DIR (the kubelet's root
# bind mount, volumes, container root filesystems, shm) and the Pods' network namespaces.
node::unmount() {
  local m
  while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || lcp::log "could not unmount $m"
  done < <(awk -v d="$NODE_DIR/" -v n="/run/netns/" '{ gsub(/\\040/, " ", $2) } index($2, d) == 1 || index($2, n) == 1 { print length($2), $2 }' /proc/mounts |
    sort -rn | cut -d' ' -f2- | uniq)
}

# node::restore_paths removes the listed paths local-up created, and what it added inside those
# that existed before it.
node::restore_paths() {
  local p entry
  for p in "${NODE_HOST_PATHS[@]}"; do
    [[ -e $p || -L $p ]] || continue
    if ! grep -qxF "$p" "$NODE_HOST/paths"; then
      rm -rf "$p"
      continue
    fi
    [[ -d $p ]] || continue
    while IFS= read -r entry; do
      grep -qxF "$entry" "$NODE_HOST/paths" || rm -rf "$entry"
    done < <(find "$p" -mindepth 1 -maxdepth 1 -printf '%p\n')
  done
  return 0
}

# node::remove_cgroups removes the kubepods cgroups that were not there before, innermost first.
node::remove_cgroups() {
  local top
  while read -r top; do
    grep -qxF "$top" "$NODE_HOST/cgroups" && continue
    find "$top" -depth -type d -exec rmdir {} + 2>/dev/null || true
    if [[ -d $top ]]; then lcp::log "could not remove cgroup $top"; fi
  done < <(node::cgroups)
  return 0
}
