#!/usr/bin/env bash
# The local OCI registry (hack/registry) that hack/local-up.sh starts: images and Helm charts
# on https://127.0.0.1:$REGISTRY_PORT, with a CA of its own, for one user with a password.
# Source it after common.sh; it defines variables and functions only.
#
#   REGISTRY=0         no registry
#   REGISTRY_PORT      its port on 127.0.0.1 (default 25443)
#
# Files in $LOCAL_DIR/registry: certs/ (ca.crt, tls.crt, tls.key; kept while valid), password
# (random, made once), trust/ca.crt (the CA alone: tenancy-apiserver's SSL_CERT_DIR adds it to
# the system's roots, so Templates can use oci:// charts from it). local-up pushes every image
# tarball in _output/images (the pause image, the product's image from make image, the
# walkthrough's stand-ins from make standins: docker.io's images for the node) under its
# repository and tag, and saves REGISTRY_ADDRESS, REGISTRY_CA, REGISTRY_USERNAME and
# REGISTRY_PASSWORD_FILE in $LOCAL_DIR/env. Its content is in memory: a restart empties it.

registry::defaults() {
  : "${REGISTRY:=1}" "${REGISTRY_PORT:=25443}"
  REGISTRY_USERNAME=local
  LOCAL_REGISTRY=$LOCAL_DIR/registry
}

# registry::build builds the registry and packs the product's image, the walkthrough's
# stand-ins and etcd's image (all cached).
registry::build() {
  make -C "$LOCAL_ROOT" --no-print-directory registry image standins etcd-image >&2
}

registry::listening() { ! lcp::port_free "$REGISTRY_PORT"; }

# registry::up starts the registry, pushes the image tarballs and records how to reach it.
registry::up() {
  [[ -x $LOCAL_BIN/registry ]] || make -C "$LOCAL_ROOT" --no-print-directory registry >&2
  mkdir -p "$LOCAL_REGISTRY/trust"
  if [[ ! -s $LOCAL_REGISTRY/password ]]; then
    (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$LOCAL_REGISTRY/password")
  fi
  local address=127.0.0.1:$REGISTRY_PORT
  lcp::log "starting the registry on https://$address"
  lcp::start registry "$LOCAL_BIN/registry" --listen="$address" --cert-dir="$LOCAL_REGISTRY/certs" \
    --username="$REGISTRY_USERNAME" --password-file="$LOCAL_REGISTRY/password"
  lcp::wait_until registry 30 "it does not listen on $address" registry::listening
  ln -sfn ../certs/ca.crt "$LOCAL_REGISTRY/trust/ca.crt"
  {
    lcp::env_line REGISTRY_ADDRESS "$address"
    lcp::env_line REGISTRY_CA "$LOCAL_REGISTRY/certs/ca.crt"
    lcp::env_line REGISTRY_USERNAME "$REGISTRY_USERNAME"
    lcp::env_line REGISTRY_PASSWORD_FILE "$LOCAL_REGISTRY/password"
  } >>"$LOCAL_ENV"
  local tarballs=()
  mapfile -t tarballs < <(compgen -G "$LOCAL_ROOT/_output/images/*.tar" || true)
  if ((${#tarballs[@]} > 0)); then
    "$LOCAL_BIN/registry" push --address="$address" --ca-file="$LOCAL_REGISTRY/certs/ca.crt" \
      --username="$REGISTRY_USERNAME" --password-file="$LOCAL_REGISTRY/password" "${tarballs[@]}" |
      while read -r line; do lcp::log "registry: $line"; done
  fi
}
