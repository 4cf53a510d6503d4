package main

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiserverv1 "k8s.io/apiserver/pkg/apis/apiserver/v1"
	"sigs.k8s.io/yaml"
)

// OIDCPrefix is put before the user names and the group names of the local OIDC issuer's
// tokens, so that no token can name a user or group of the cluster's own (system:masters,
// kubernetes-admin, service accounts): Account subjects and bindings name them with it, as
// in oidc:dev and oidc:team-a.
const OIDCPrefix = "oidc:"

// writeAuthenticationConfig writes kube-apiserver's structured AuthenticationConfiguration:
// one JWT authenticator for the local OIDC issuer at issuerURL, served with a certificate of
// ca, whose tokens must name audience. The sub claim is the user name and the groups claim
// the groups, both with OIDCPrefix.
func writeAuthenticationConfig(path, issuerURL, audience string, ca *keyPair) error {
	prefix := OIDCPrefix
	cfg := apiserverv1.AuthenticationConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: apiserverv1.SchemeGroupVersion.String(), Kind: "AuthenticationConfiguration"},
		JWT: []apiserverv1.JWTAuthenticator{{
			Issuer: apiserverv1.Issuer{
				URL:                  issuerURL,
				CertificateAuthority: string(certPEM(ca.Cert)),
				Audiences:            []string{audience},
			},
			ClaimMappings: apiserverv1.ClaimMappings{
				Username: apiserverv1.PrefixedClaimOrExpression{Claim: "sub", Prefix: &prefix},
				Groups:   apiserverv1.PrefixedClaimOrExpression{Claim: "groups", Prefix: &prefix},
			},
		}},
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encoding the authentication configuration: %w", err)
	}
	return writeFile(path, data, 0o600)
}
