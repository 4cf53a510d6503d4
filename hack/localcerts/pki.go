package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
	// renewBefore is how close to expiry a certificate is replaced instead of kept.
	renewBefore = 30 * 24 * time.Hour
	// backdate tolerates a clock that is a little behind the one that issued the certificate.
	backdate = time.Hour
)

// keyPair is a certificate and its private key.
type keyPair struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// certSpec describes one certificate the local control plane needs.
type certSpec struct {
	// Name is the file name without extension: <Name>.crt and <Name>.key.
	Name string
	// CA is the Name of the issuing CA; empty for a self-signed CA.
	CA           string
	IsCA         bool
	CommonName   string
	Organization []string
	DNSNames     []string
	IPs          []net.IP
	ExtKeyUsage  []x509.ExtKeyUsage
}

func newKey() (crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating a key: %w", err)
	}
	return key, nil
}

// issue creates a certificate for spec, signed by ca, or self-signed when ca is nil.
func issue(spec certSpec, ca *keyPair, now time.Time) (*keyPair, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generating a serial number: %w", err)
	}
	validity := leafValidity
	usage := x509.KeyUsageDigitalSignature
	if spec.IsCA {
		validity = caValidity
		usage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: spec.CommonName, Organization: spec.Organization},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              usage,
		ExtKeyUsage:           spec.ExtKeyUsage,
		BasicConstraintsValid: true,
		IsCA:                  spec.IsCA,
		DNSNames:              spec.DNSNames,
		IPAddresses:           spec.IPs,
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.Cert, ca.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", spec.Name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the new %s: %w", spec.Name, err)
	}
	return &keyPair{Cert: cert, Key: key}, nil
}

// matches reports whether kp is still good for spec: issued by ca (or self-signed when ca is
// nil), with the same subject, names and usages, and not about to expire.
func matches(kp *keyPair, spec certSpec, ca *keyPair, now time.Time) bool {
	c := kp.Cert
	if !publicKeysEqual(c.PublicKey, kp.Key.Public()) {
		return false
	}
	if now.Add(renewBefore).After(c.NotAfter) || now.Before(c.NotBefore) {
		return false
	}
	if c.IsCA != spec.IsCA || c.Subject.CommonName != spec.CommonName ||
		!sameStrings(c.Subject.Organization, spec.Organization) ||
		!sameStrings(c.DNSNames, spec.DNSNames) || !sameIPs(c.IPAddresses, spec.IPs) ||
		!slices.Equal(c.ExtKeyUsage, spec.ExtKeyUsage) {
		return false
	}
	issuer := c
	if ca != nil {
		issuer = ca.Cert
	}
	return c.CheckSignatureFrom(issuer) == nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ka, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ka.Equal(b)
}

func sameStrings(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func sameIPs(a, b []net.IP) bool {
	if len(a) != len(b) {
		return false
	}
	for _, ip := range b {
		if !slices.ContainsFunc(a, ip.Equal) {
			return false
		}
	}
	return true
}

// loadKeyPair reads <dir>/<name>.crt and .key. A missing file yields (nil, nil).
func loadKeyPair(dir, name string) (*keyPair, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, name+".crt"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s.crt: %w", name, err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, name+".key"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s.key: %w", name, err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s.crt holds no PEM certificate", name)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing %s.crt: %w", name, err)
	}
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("parsing %s.key: %w", name, err)
	}
	return &keyPair{Cert: cert, Key: key}, nil
}

func parsePrivateKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("no PEM PRIVATE KEY block")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", key)
	}
	return signer, nil
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding a private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func publicKeyPEM(key crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding a public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// saveKeyPair writes <dir>/<name>.crt and .key.
func saveKeyPair(dir, name string, kp *keyPair) error {
	k, err := keyPEM(kp.Key)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, name+".key"), k, 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, name+".crt"), certPEM(kp.Cert), 0o644)
}

// writeFile replaces path atomically, and leaves it alone when its content is already data.
func writeFile(path string, data []byte, perm os.FileMode) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
