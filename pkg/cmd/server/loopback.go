package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"time"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/apiserver/pkg/server/healthz"
)

// loopbackCertificateMaxAge is how long the loopback certificate is valid, as the generic
// server's own (genericoptions.SecureServingOptionsWithLoopback).
const loopbackCertificateMaxAge = (3*365 + 1) * 24 * time.Hour

// applySecureServing applies the serving options and sets up the loopback client the server
// uses to call itself, as genericoptions.SecureServingOptionsWithLoopback does, except that
// the loopback certificate has an ECDSA P-256 key, made in microseconds: the generic options
// generate two RSA 2048 keys at every start, which took 15 % of the CPU of a restart.
func (o *Options) applySecureServing(cfg *genericapiserver.Config) error {
	if err := o.Recommended.SecureServing.SecureServingOptions.ApplyTo(&cfg.SecureServing); err != nil {
		return err
	}
	if cfg.SecureServing == nil {
		return nil
	}
	name := genericapiserver.LoopbackClientServerNameOverride
	notAfter := time.Now().Add(loopbackCertificateMaxAge)
	certPEM, keyPEM, err := selfSignedECDSA(name, notAfter)
	if err != nil {
		return fmt.Errorf("generating the loopback certificate: %w", err)
	}
	cert, err := dynamiccertificates.NewStaticSNICertKeyContent("self-signed loopback", certPEM, keyPEM, name)
	if err != nil {
		return fmt.Errorf("loading the loopback certificate: %w", err)
	}
	// First, so that it wins over any other certificate for the same name.
	cfg.SecureServing.SNICerts = append([]dynamiccertificates.SNICertKeyContentProvider{cert}, cfg.SecureServing.SNICerts...)
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return err
	}
	loopback, err := cfg.SecureServing.NewLoopbackClientConfig(hex.EncodeToString(token), certPEM)
	if err != nil {
		return fmt.Errorf("the loopback client: %w", err)
	}
	cfg.LoopbackClientConfig = loopback
	expiry := healthz.NamedCheck("loopback-serving-certificate", func(*http.Request) error {
		if time.Now().After(notAfter) {
			return fmt.Errorf("the loopback serving certificate expired at %s", notAfter.Format(time.RFC3339))
		}
		return nil
	})
	cfg.AddHealthzChecks(expiry)
	cfg.AddLivezChecks(expiry)
	return nil
}

// selfSignedECDSA returns a self-signed certificate for host, valid until notAfter, and its
// key, PEM-encoded.
func selfSignedECDSA(host string, notAfter time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	template := x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host},
		DNSNames:              []string{host},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, &template, &template, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
