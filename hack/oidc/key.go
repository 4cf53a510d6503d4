package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"

	"github.com/go-jose/go-jose/v4"
)

// signingKey is the issuer's private key as a JWK: its key ID is the key's SHA-256 thumbprint
// (RFC 7638), so the same key always has the same ID.
type signingKey struct {
	jwk jose.JSONWebKey
}

// loadSigningKey reads a PEM PKCS #8 private key (ECDSA P-256 or RSA of at least 2048 bits,
// signed with ES256 or RS256).
func loadSigningKey(path string) (*signingKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key %s: no PEM PRIVATE KEY block", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	var alg jose.SignatureAlgorithm
	switch k := parsed.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("signing key %s: ECDSA keys must be on P-256", path)
		}
		alg = jose.ES256
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("signing key %s: RSA keys must have at least 2048 bits", path)
		}
		alg = jose.RS256
	default:
		return nil, fmt.Errorf("signing key %s: unsupported key type %T", path, parsed)
	}
	jwk := jose.JSONWebKey{Key: parsed, Algorithm: string(alg), Use: "sig"}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	return &signingKey{jwk: jwk}, nil
}

// public is the key set kube-apiserver verifies tokens with.
func (k *signingKey) public() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.jwk.Public()}}
}

// signer signs compact JWTs with the key, naming its key ID in the header.
func (k *signingKey) signer() (jose.Signer, error) {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.jwk.Algorithm), Key: k.jwk},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("creating a signer: %w", err)
	}
	return s, nil
}
