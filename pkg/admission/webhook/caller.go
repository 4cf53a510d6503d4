package webhook

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
)

// Caller says who may call the webhooks. kube-apiserver calls webhooks without credentials
// unless its admission configuration gives it a client certificate for them; where it does,
// the webhooks can refuse everyone else, so that nobody who merely reaches the port can make
// them charge a quota or compute admission decisions.
type Caller struct {
	// Roots verify the caller's client certificate.
	Roots *x509.CertPool
	// Name is the CommonName the certificate must carry.
	Name string
}

// LoadCaller reads the CA bundle at caFile for a caller named name.
func LoadCaller(caFile, name string) (*Caller, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("webhook client CA: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("webhook client CA %s holds no PEM certificate", caFile)
	}
	return &Caller{Roots: roots, Name: name}, nil
}

// check answers the HTTP status and reason for refusing r, a call of the webhook named
// hook, or 0 when its caller may call.
func (c *Caller) check(r *http.Request, hook string) (int, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return http.StatusUnauthorized, fmt.Errorf("the %s webhook needs a client certificate", hook)
	}
	leaf := r.TLS.PeerCertificates[0]
	intermediates := x509.NewCertPool()
	for _, cert := range r.TLS.PeerCertificates[1:] {
		intermediates.AddCert(cert)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: c.Roots, Intermediates: intermediates,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return http.StatusUnauthorized, fmt.Errorf("the %s webhook does not trust the client certificate: %w", hook, err)
	}
	if leaf.Subject.CommonName != c.Name {
		return http.StatusForbidden, fmt.Errorf("%q may not call the %s webhook", leaf.Subject.CommonName, hook)
	}
	return 0, nil
}
