package server

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	genericapiserver "k8s.io/apiserver/pkg/server"
)

// The loopback certificate verifies, for the loopback client's server name, against itself
// (the CA the loopback client is given), and for no other name.
func TestLoopbackCertificate(t *testing.T) {
	name := genericapiserver.LoopbackClientServerNameOverride
	certPEM, keyPEM, err := selfSignedECDSA(name, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode(keyPEM); block == nil || block.Type != "EC PRIVATE KEY" {
		t.Fatalf("key is not a PEM EC private key: %q", keyPEM)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
		t.Errorf("verifying for %s: %v", name, err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: roots}); err == nil {
		t.Error("the loopback certificate verifies for localhost too")
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: time.Now().Add(2 * time.Hour)}); err == nil {
		t.Error("the loopback certificate verifies after it expired")
	}
}
