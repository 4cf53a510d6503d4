#!/usr/bin/env bash
# The local OpenID Connect issuer (hack/oidc) that hack/local-up.sh starts before
# kube-apiserver, whose AuthenticationConfiguration ($LOCAL_DIR/authentication.yaml, written by
# hack/localcerts) trusts it: ID tokens it signs for a user and groups authenticate as
# oidc:<user> in the groups oidc:<group>. Source it after common.sh; it defines variables and
# functions only.
#
#   OIDC_PORT          its port on 127.0.0.1 (default 24443)
#
# Its files are in $LOCAL_DIR/pki: oidc-ca.crt (its CA), oidc-issuer.crt/.key (serving) and
# oidc-signing.key (the tokens' signing key: whoever reads it signs in as anybody). local-up
# saves OIDC_ISSUER_URL, OIDC_AUDIENCE, OIDC_CA and OIDC_SIGNING_KEY in $LOCAL_DIR/env, which
# `oidc-issuer token --env=$LOCAL_DIR/env --user=NAME [--group=GROUP]...` reads.

oidc::defaults() {
  : "${OIDC_PORT:=24443}"
  OIDC_ISSUER_URL=https://127.0.0.1:$OIDC_PORT
  OIDC_AUDIENCE=tenancy-local
  LOCAL_AUTHENTICATION_CONFIG=$LOCAL_DIR/authentication.yaml
}

oidc::build() {
  make -C "$LOCAL_ROOT" --no-print-directory oidc-issuer >&2
}

oidc::listening() { ! lcp::port_free "$OIDC_PORT"; }

# oidc::up starts the issuer and records how to reach it and sign its tokens.
oidc::up() {
  [[ -x $LOCAL_BIN/oidc-issuer ]] || oidc::build
  lcp::log "starting the OIDC issuer on $OIDC_ISSUER_URL"
  lcp::start oidc-issuer "$LOCAL_BIN/oidc-issuer" serve --listen="127.0.0.1:$OIDC_PORT" \
    --issuer-url="$OIDC_ISSUER_URL" --tls-cert-file="$LOCAL_PKI/oidc-issuer.crt" \
    --tls-private-key-file="$LOCAL_PKI/oidc-issuer.key" --signing-key-file="$LOCAL_PKI/oidc-signing.key"
  lcp::wait_until oidc-issuer 30 "it does not listen on 127.0.0.1:$OIDC_PORT" oidc::listening
  {
    lcp::env_line OIDC_ISSUER_URL "$OIDC_ISSUER_URL"
    lcp::env_line OIDC_AUDIENCE "$OIDC_AUDIENCE"
    lcp::env_line OIDC_CA "$LOCAL_PKI/oidc-ca.crt"
    lcp::env_line OIDC_SIGNING_KEY "$LOCAL_PKI/oidc-signing.key"
  } >>"$LOCAL_ENV"
}

# oidc::whoami prints the user name kube-apiserver gives a fresh token of the issuer.
oidc::whoami() {
  local token
  token=$("$LOCAL_BIN/oidc-issuer" token --env="$LOCAL_ENV" --user=local-up --lifetime=1m) || return 1
  "$KUBECTL" --kubeconfig=/dev/null --server="https://127.0.0.1:$KUBE_APISERVER_PORT" \
    --certificate-authority="$LOCAL_PKI/ca.crt" --token="$token" --request-timeout=5s \
    auth whoami -o 'jsonpath={.status.userInfo.username}' </dev/null 2>/dev/null
}

oidc::trusted() { [[ $(oidc::whoami) == oidc:local-up ]]; }

# oidc::wait_trusted waits until kube-apiserver authenticates the issuer's tokens: its JWT
# authenticator reads the issuer's discovery and keys in the background after it starts.
oidc::wait_trusted() {
  lcp::wait_until kube-apiserver 60 "it does not accept the OIDC issuer's tokens" oidc::trusted
}
