#!/usr/bin/env bash
# Starts tenancy-apiserver on a local control plane: etcd, kube-apiserver and
# kube-controller-manager built from source, everything on 127.0.0.1, no cluster, no Docker.
#
# Environment:
#   CLEAN=1            start from empty data (otherwise data and certificates are kept)
#   REPLICAS=N         run N tenancy-apiserver replicas on ports TENANCY_PORT..+N-1 sharing one
#                      etcd process (default 1: one replica on its embedded etcd)
#   ETCD_MEMBERS=N     store in an etcd cluster of N members on loopback, with peer and client
#                      TLS from the local PKI, that every replica uses (default 1: no cluster);
#                      member I on TENANCY_ETCD_PORT+10*I and TENANCY_ETCD_PEER_PORT+10*I
#                      (hack/lib/tenancy-etcd.sh)
#   TENANCY_FLAGS="…"  extra flags for every replica started here (word-split)
#   SKIP_BUILD=1       use the binaries already in _output/bin
#   KEEP_ON_FAILURE=1  leave what started running when a later step fails (default: stop it)
#   KUBE_APISERVER_FLAGS="…"  extra flags for kube-apiserver (word-split)
#   NODE=0             no node: no containerd, kubelet, kube-scheduler, kube-proxy or kube-router
#                      (Pods stay Pending; nothing on the host is changed but _output/local).
#                      The default NODE=1 needs root, installs missing Debian packages and
#                      changes the host as hack/lib/node.sh describes; hack/local-down.sh
#                      undoes it. NODE_* and POD_CIDR settings: hack/lib/node.sh.
#   TENANCY=0          no tenancy-apiserver outside the cluster: nothing of artifacts/deploy is
#                      applied and no replica starts, so the product can be installed in the
#                      cluster instead (helm install of charts/tenancy-apiserver on the node,
#                      as test/node does). REPLICAS and TENANCY_FLAGS are then unused.
#   REGISTRY=0         no local OCI registry (default 1: hack/registry on 127.0.0.1:REGISTRY_PORT,
#                      default 25443, with the images of _output/images; hack/lib/registry.sh)
#   OIDC_PORT          the local OpenID Connect issuer's port on 127.0.0.1 (default 24443): it
#                      always runs, and kube-apiserver trusts its tokens (hack/lib/oidc.sh)
#   ports: ETCD_PORT, ETCD_PEER_PORT, TENANCY_ETCD_PORT, TENANCY_ETCD_PEER_PORT,
#          KUBE_APISERVER_PORT, KUBE_CONTROLLER_MANAGER_PORT, TENANCY_PORT (defaults in
#          hack/lib/common.sh; the values in use are saved in _output/local/env). Each must be
#          free on 127.0.0.1: local-up fails first, naming every taken port and its process.
#   SECOND_PLANE_OF=DIR  a second control plane beside the one running in DIR (its LOCAL_DIR),
#                      in a LOCAL_DIR of its own and with NODE=0: every port is DIR's plus
#                      PLANE_OFFSET (default 1000), the OIDC issuer's DIR's plus 1, and
#                      local-up fails, naming both, when one of these is a port of DIR's plane
#
# Replicas are started, stopped and restarted with hack/lib/tenancy-apiserver.sh.
#
# Data, certificates, kubeconfigs, PIDs (pids/) and logs (logs/) live in _output/local.
# A running control plane is stopped first (data kept), so re-running picks up new binaries.
# hack/local-down.sh stops it all.
set -o errexit -o nounset -o pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/node.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/registry.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/oidc.sh"
lcp::defaults
if [[ -n ${SECOND_PLANE_OF:-} ]]; then
  lcp::second_plane "$SECOND_PLANE_OF"
fi
node::defaults
registry::defaults
oidc::defaults
[[ $NODE == 0 || $NODE == 1 ]] || lcp::fail "NODE must be 0 or 1, not '$NODE'"
[[ $REGISTRY == 0 || $REGISTRY == 1 ]] || lcp::fail "REGISTRY must be 0 or 1, not '$REGISTRY'"
[[ $TENANCY == 0 || $TENANCY == 1 ]] || lcp::fail "TENANCY must be 0 or 1, not '$TENANCY'"
started=$SECONDS

[[ $REPLICAS =~ ^[1-9][0-9]*$ ]] || lcp::fail "REPLICAS must be a positive number, not '$REPLICAS'"
[[ $ETCD_MEMBERS =~ ^[1-9]$ ]] || lcp::fail "ETCD_MEMBERS must be a number from 1 to 9, not '$ETCD_MEMBERS'"
command -v "$KUBECTL" >/dev/null || lcp::fail "kubectl is required"

build() {
  if [[ ${SKIP_BUILD:-} == 1 ]]; then
    return
  fi
  lcp::log "building kube-apiserver, kube-controller-manager and etcd (cached after the first time)"
  "$LOCAL_ROOT/hack/build-controlplane.sh"
  if [[ $NODE == 1 ]]; then
    lcp::log "building kubelet, kube-scheduler, kube-proxy, kube-router and the pause image (cached after the first time)"
    "$LOCAL_ROOT/hack/build-node.sh"
    (cd "$LOCAL_ROOT" && CGO_ENABLED=0 go build -trimpath -o "$LOCAL_BIN/localdns" ./hack/localdns)
  fi
  lcp::log "building tenancy-apiserver"
  if [[ -f $LOCAL_ROOT/Makefile ]] && grep -q '^build:' "$LOCAL_ROOT/Makefile"; then
    make -C "$LOCAL_ROOT" --no-print-directory build >&2
    oidc::build
    if [[ $REGISTRY == 1 ]]; then
      registry::build
    fi
  elif [[ -d $LOCAL_ROOT/cmd/tenancy-apiserver ]]; then
    (cd "$LOCAL_ROOT" && go build -o "$LOCAL_BIN/tenancy-apiserver" ./cmd/tenancy-apiserver)
  fi
}

certificates() {
  lcp::log "writing certificates and kubeconfigs to $LOCAL_PKI"
  (cd "$LOCAL_ROOT" && go build -o "$LOCAL_BIN/localcerts" ./hack/localcerts)
  "$LOCAL_BIN/localcerts" --dir="$LOCAL_PKI" --server="https://127.0.0.1:$KUBE_APISERVER_PORT" \
    --admin-kubeconfig="$LOCAL_DIR/kubeconfig" --admission-config="$LOCAL_DIR/admission.yaml" \
    --authentication-config="$LOCAL_AUTHENTICATION_CONFIG" --oidc-issuer-url="$OIDC_ISSUER_URL" \
    --oidc-audience="$OIDC_AUDIENCE" --service="$TENANCY_SERVICE" \
    --namespace="$TENANCY_NAMESPACE" --service-ip="$KUBERNETES_SERVICE_IP" \
    ${NODE_NAME:+--node-name="$NODE_NAME" --node-ip="$NODE_IP"}
}

start_etcd() {
  local client=http://127.0.0.1:$ETCD_PORT peer=http://127.0.0.1:$ETCD_PEER_PORT
  lcp::log "starting etcd on 127.0.0.1:$ETCD_PORT"
  lcp::start etcd "$LOCAL_BIN/etcd" --name=local --data-dir="$LOCAL_DIR/etcd" \
    --listen-client-urls="$client" --advertise-client-urls="$client" \
    --listen-peer-urls="$peer" --initial-advertise-peer-urls="$peer" \
    --initial-cluster="local=$peer" --log-level=warn
  lcp::wait_healthy etcd 60 /readyz --server="$client"
}

# start_tenancy_etcd runs the etcd tenancy-apiserver embeds as a process of its own, on the
# embedded etcd's data directory and port, for replicas to share.
start_tenancy_etcd() {
  if ((ETCD_MEMBERS > 1)); then
    lcp::log "the $REPLICAS replica(s) store in an etcd cluster of $ETCD_MEMBERS members with TLS"
  else
    lcp::log "the $REPLICAS replicas share one etcd, outside them"
  fi
  "$LOCAL_ROOT/hack/lib/tenancy-etcd.sh" start
}

start_kube_apiserver() {
  # Without a node it listens on loopback only. With one, Pods reach it on the bridge: it
  # listens on every address (the node's firewall chain lets only loopback and the bridge in),
  # advertises the node's address, and the `kubernetes` Service's endpoints point there.
  local listen=(--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --endpoint-reconciler-type=none)
  if [[ $NODE == 1 ]]; then
    listen=(--bind-address=0.0.0.0 --advertise-address="$NODE_IP" --endpoint-reconciler-type=lease
      --kubelet-client-certificate="$LOCAL_PKI/kube-apiserver-kubelet-client.crt"
      --kubelet-client-key="$LOCAL_PKI/kube-apiserver-kubelet-client.key"
      --kubelet-preferred-address-types=InternalIP)
  fi
  lcp::log "starting kube-apiserver on https://127.0.0.1:$KUBE_APISERVER_PORT"
  local text flags
  text=$(lcp::flags "$LOCAL_ROOT/hack/lib/kube-apiserver.flags" \
    port="$KUBE_APISERVER_PORT" etcd="http://127.0.0.1:$ETCD_PORT" pki="$LOCAL_PKI" \
    admission-config="$LOCAL_DIR/admission.yaml" service-cidr="$SERVICE_CLUSTER_IP_RANGE" \
    authentication-config="$LOCAL_AUTHENTICATION_CONFIG") ||
    exit 1
  mapfile -t flags <<<"$text"
  # shellcheck disable=SC2086 # KUBE_APISERVER_FLAGS is a list of words
  lcp::start kube-apiserver "$LOCAL_BIN/kube-apiserver" "${flags[@]}" "${listen[@]}" \
    ${KUBE_APISERVER_FLAGS:-}
  lcp::wait_healthy kube-apiserver 180 /readyz --kubeconfig="$LOCAL_DIR/kubeconfig"
}

start_kube_controller_manager() {
  lcp::log "starting kube-controller-manager"
  local kubeconfig=$LOCAL_PKI/kube-controller-manager.kubeconfig node=()
  local controllers=namespace-controller,garbage-collector-controller,clusterrole-aggregation-controller,deployment-controller,replicaset-controller,serviceaccount-controller,serviceaccount-token-controller,resourcequota-controller,root-ca-certificate-publisher-controller
  if [[ $NODE == 1 ]]; then
    # node-lifecycle removes the node's not-ready taint; node-ipam gives it POD_CIDR; the
    # persistentvolume ones bind claims (the chart's StatefulSets) to PersistentVolumes.
    controllers+=,node-lifecycle-controller,node-ipam-controller,endpointslice-controller,statefulset-controller,daemonset-controller,job-controller
    controllers+=,persistentvolume-binder-controller,persistentvolume-protection-controller,persistentvolumeclaim-protection-controller
    node=(--allocate-node-cidrs=true --cluster-cidr="$POD_CIDR" --node-cidr-mask-size="${POD_CIDR#*/}")
  fi
  lcp::start kube-controller-manager "$LOCAL_BIN/kube-controller-manager" \
    --kubeconfig="$kubeconfig" \
    --authentication-kubeconfig="$kubeconfig" --authorization-kubeconfig="$kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$KUBE_CONTROLLER_MANAGER_PORT" \
    --controllers="$controllers" "${node[@]}" \
    --root-ca-file="$LOCAL_PKI/ca.crt" \
    --service-account-private-key-file="$LOCAL_PKI/sa.key" \
    --use-service-account-credentials=true \
    --service-cluster-ip-range="$SERVICE_CLUSTER_IP_RANGE" \
    --leader-elect=false \
    --profiling=false
}

# apply_artifacts applies the product's manifests from artifacts/deploy as a kubectl user would,
# by the files' number prefix (see artifacts/README.md):
#   00-39  cluster objects (namespace, RBAC, roles): applied as they are;
#   40-59  the in-cluster workload (Service, StatefulSet): replaced by the local processes and a
#          Service of type ExternalName to localhost on replica 0's port;
#   60-69  APIServices: applied with the local serving CA and replica 0's port;
#   70-79  webhook configurations: applied with the local serving CA and a URL on replica 0.
# Any other file stops local-up: it needs a local form first.
apply_artifacts() {
  local deploy=$LOCAL_ROOT/artifacts/deploy kc=(--kubeconfig="$LOCAL_DIR/kubeconfig")
  local file base as_is=() apiservices=() webhooks=()
  for file in "$deploy"/*.yaml; do
    base=$(basename "$file")
    case $base in
    [0-3][0-9]-*) as_is+=(-f "$file") ;;
    [45][0-9]-*) ;;
    6[0-9]-*) apiservices+=("$file") ;;
    7[0-9]-*) webhooks+=("$file") ;;
    *) lcp::fail "artifacts/deploy/$base: hack/local-up.sh does not know how to apply it locally" ;;
    esac
  done
  lcp::log "applying artifacts/deploy"
  "$KUBECTL" "${kc[@]}" apply "${as_is[@]}" >/dev/null
  # A ClusterIP Service left from an in-cluster style apply cannot become an ExternalName.
  if [[ $("$KUBECTL" "${kc[@]}" get service "$TENANCY_SERVICE" -n "$TENANCY_NAMESPACE" \
    -o 'jsonpath={.spec.type}' --ignore-not-found) == ClusterIP ]]; then
    "$KUBECTL" "${kc[@]}" delete service "$TENANCY_SERVICE" -n "$TENANCY_NAMESPACE" >/dev/null
  fi
  "$KUBECTL" "${kc[@]}" create service externalname "$TENANCY_SERVICE" -n "$TENANCY_NAMESPACE" \
    --external-name=localhost --tcp="$TENANCY_PORT:$TENANCY_PORT" --dry-run=client -o yaml |
    "$KUBECTL" "${kc[@]}" apply -f - >/dev/null
  local ca patch
  ca=$(base64 <"$LOCAL_PKI/serving-ca.crt" | tr -d '\n')
  patch=$(printf '{"spec":{"insecureSkipTLSVerify":null,"caBundle":"%s","service":{"port":%d}}}' "$ca" "$TENANCY_PORT")
  for file in "${apiservices[@]}"; do
    "$KUBECTL" --kubeconfig=/dev/null patch --local -f "$file" --type=merge -p "$patch" -o yaml |
      "$KUBECTL" "${kc[@]}" apply -f - >/dev/null
  done
  local path
  for file in "${webhooks[@]}"; do
    path=$(grep -m1 '^ *path:' "$file" | awk '{print $2}')
    patch=$(printf '[{"op":"replace","path":"/webhooks/0/clientConfig","value":{"url":"https://127.0.0.1:%d%s","caBundle":"%s"}}]' \
      "$TENANCY_PORT" "$path" "$ca")
    "$KUBECTL" --kubeconfig=/dev/null patch --local -f "$file" --type=json -p "$patch" -o yaml |
      "$KUBECTL" "${kc[@]}" apply -f - >/dev/null
  done
}

wait_apiservices() {
  local names
  names=$("$KUBECTL" --kubeconfig="$LOCAL_DIR/kubeconfig" get apiservices \
    -l app.kubernetes.io/name=tenancy-apiserver -o name)
  lcp::log "waiting for $(echo $names | tr '\n' ' ')to be Available"
  # shellcheck disable=SC2086
  if ! "$KUBECTL" --kubeconfig="$LOCAL_DIR/kubeconfig" wait --for=condition=Available \
    --timeout="${APISERVICE_TIMEOUT:-120}s" $names >/dev/null; then
    "$KUBECTL" --kubeconfig="$LOCAL_DIR/kubeconfig" get $names >&2 || true
    lcp::fail "the APIServices did not become Available; see $LOCAL_LOGS/tenancy-apiserver-0.log"
  fi
  # kube-apiserver lists an aggregated group's resources in its discovery a little after the
  # APIService is Available; until then kubectl does not know the kinds. kubectl
  # api-resources reads discovery afresh and refreshes kubectl's cache.
  local group resource deadline=$((SECONDS + ${APISERVICE_TIMEOUT:-120}))
  for group in config.kiosk.sh:accounts tenancy.kiosk.sh:spaces; do
    resource=${group#*:}.${group%%:*}
    until "$KUBECTL" --kubeconfig="$LOCAL_DIR/kubeconfig" api-resources --api-group="${group%%:*}" -o name 2>/dev/null |
      grep -qx "$resource"; do
      ((SECONDS < deadline)) || lcp::fail "kube-apiserver's discovery does not list $resource"
      sleep 0.5
    done
  done
  # kubectl explain reads kube-apiserver's OpenAPI v3, which takes in the groups later still.
  for group in config.kiosk.sh tenancy.kiosk.sh; do
    until "$KUBECTL" --kubeconfig="$LOCAL_DIR/kubeconfig" get --raw /openapi/v3 2>/dev/null |
      grep -q "\"apis/$group/v1alpha1\""; do
      ((SECONDS < deadline)) || lcp::fail "kube-apiserver's OpenAPI does not list $group"
      sleep 0.5
    done
  done
}

# start_tenancy starts the REPLICAS replicas and waits until kube-apiserver serves their groups.
start_tenancy() {
  local i flags=()
  read -r -a flags <<<"${TENANCY_FLAGS:-}"
  if ((REPLICAS > 1 || ETCD_MEMBERS > 1)); then
    start_tenancy_etcd
  fi
  for ((i = 0; i < REPLICAS; i++)); do
    "$LOCAL_ROOT/hack/lib/tenancy-apiserver.sh" start "$i" "${flags[@]}"
  done
  wait_apiservices
}

on_exit() {
  local rc=$?
  if ((rc != 0)) && [[ ${KEEP_ON_FAILURE:-} != 1 ]]; then
    lcp::log "local-up failed; stopping what it started (KEEP_ON_FAILURE=1 keeps it)"
    "$LOCAL_ROOT/hack/local-down.sh" || true
  fi
  exit "$rc"
}

main() {
  build
  if compgen -G "$LOCAL_PIDS/*.pid" >/dev/null; then
    lcp::log "stopping the running local control plane"
    "$LOCAL_ROOT/hack/local-down.sh"
  fi
  if [[ ${CLEAN:-} == 1 ]]; then
    lcp::log "CLEAN=1: removing $LOCAL_DIR"
    rm -rf "$LOCAL_DIR"
  fi
  mkdir -p "$LOCAL_DIR" "$LOCAL_PIDS" "$LOCAL_LOGS"
  lcp::check_ports
  if [[ $NODE == 1 ]]; then
    node::install_packages
    node::check_host
  else
    unset NODE_NAME
  fi
  trap on_exit EXIT
  certificates
  lcp::save_env

  if [[ $NODE == 1 ]]; then
    node::record_host
    node::network_up
  fi
  start_etcd
  # Before kube-apiserver, whose JWT authenticator reads the issuer's discovery as it starts
  # (and, when that fails, again only 10s later).
  oidc::up
  start_kube_apiserver
  oidc::wait_trusted
  start_kube_controller_manager
  if [[ $TENANCY == 1 ]]; then
    apply_artifacts
  fi
  if [[ $REGISTRY == 1 ]]; then
    registry::up
  fi
  if [[ $NODE == 1 ]]; then
    node::up
  fi

  if [[ $TENANCY == 1 ]]; then
    start_tenancy
  else
    lcp::log "TENANCY=0: no tenancy-apiserver outside the cluster"
  fi
  # Its serving certificate is self-signed; any client credential stops kubectl from prompting.
  lcp::wait_healthy kube-controller-manager 60 /healthz \
    --server="https://127.0.0.1:$KUBE_CONTROLLER_MANAGER_PORT" --insecure-skip-tls-verify=true \
    --client-certificate="$LOCAL_PKI/admin.crt" --client-key="$LOCAL_PKI/admin.key"

  lcp::log "local control plane up in $((SECONDS - started))s; logs in $LOCAL_LOGS"
  echo "export KUBECONFIG=$LOCAL_DIR/kubeconfig"
}

main "$@"
