// Command oidc-issuer is the local cluster's OpenID Connect identity provider: it serves the
// discovery document and the signing key (JWKS) over HTTPS on loopback, for kube-apiserver's
// JWT authenticator, and mints ID tokens for named users and groups. It never asks anyone for a
// password: whoever can read the signing key can sign in as anybody, so the key stays in the
// local control plane's PKI directory (mode 0600). It is for trying single sign-on and for
// tests, not for production.
//
// hack/localcerts writes its serving certificate (oidc-issuer.crt, signed by oidc-ca.crt), its
// signing key (oidc-signing.key) and the AuthenticationConfiguration that makes kube-apiserver
// trust it.
//
//	oidc-issuer serve --listen=127.0.0.1:24443 --tls-cert-file=pki/oidc-issuer.crt \
//	  --tls-private-key-file=pki/oidc-issuer.key --signing-key-file=pki/oidc-signing.key
//
// `oidc-issuer token` prints an ID token (see token.go); with --exec-credential it prints a
// client.authentication.k8s.io ExecCredential, for a kubeconfig user's exec plugin:
//
//	oidc-issuer token --env=_output/local/env --user=dev --group=team-a
package main

import (
	"fmt"
	"os"
)

func main() {
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "serve":
		err = serve(os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "token":
		err = token(os.Args[2:], os.Stdout)
	default:
		fmt.Fprintln(os.Stderr, "usage: oidc-issuer serve [flags] | oidc-issuer token [flags] (-h for the flags)")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "oidc-issuer: %v\n", err)
		os.Exit(1)
	}
}
