package controlplane

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	// OIDCAudience is the audience kube-apiserver accepts in the local OIDC issuer's tokens.
	OIDCAudience = "tenancy-local"
	// OIDCPrefix is put before the user and group names of the issuer's tokens.
	OIDCPrefix = "oidc:"
)

// startOIDCIssuer builds hack/oidc and serves it on addr, with the certificate and signing
// key hack/localcerts wrote, and waits until it listens.
func (c *ControlPlane) startOIDCIssuer(ctx context.Context, logs, addr string) error {
	c.oidcIssuer = filepath.Join(c.Dir, "oidc-issuer")
	build := exec.CommandContext(ctx, "go", "build", "-o", c.oidcIssuer, ".")
	build.Dir = filepath.Join(c.Root, "hack", "oidc")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building hack/oidc: %w: %s", err, out)
	}
	pki := func(name string) string { return filepath.Join(c.PKI, name) }
	p, err := startProcess("oidc-issuer", logs, c.oidcIssuer, "serve", "--listen="+addr, "--issuer-url="+c.OIDCIssuerURL,
		"--tls-cert-file="+pki("oidc-issuer.crt"), "--tls-private-key-file="+pki("oidc-issuer.key"),
		"--signing-key-file="+pki("oidc-signing.key"))
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	return waitReady(ctx, p, 30*time.Second, func(ctx context.Context) bool {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close()
		}
		return err == nil
	})
}

// OIDCToken is an ID token of the local OIDC issuer for user in groups, valid for an hour:
// kube-apiserver authenticates it as OIDCPrefix+user in the groups OIDCPrefix+group.
func (c *ControlPlane) OIDCToken(ctx context.Context, user string, groups ...string) (string, error) {
	args := []string{"token", "--issuer-url=" + c.OIDCIssuerURL, "--signing-key-file=" + filepath.Join(c.PKI, "oidc-signing.key"),
		"--audience=" + OIDCAudience, "--user=" + user}
	for _, g := range groups {
		args = append(args, "--group="+g)
	}
	out, err := exec.CommandContext(ctx, c.oidcIssuer, args...).Output()
	if err != nil {
		return "", fmt.Errorf("oidc-issuer token: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// TokenConfig is a client configuration for kube-apiserver that authenticates with the bearer
// token alone.
func (c *ControlPlane) TokenConfig(token string) (*rest.Config, error) {
	admin, err := c.AdminConfig()
	if err != nil {
		return nil, err
	}
	return &rest.Config{Host: admin.Host, TLSClientConfig: rest.TLSClientConfig{CAData: admin.CAData, CAFile: admin.CAFile},
		BearerToken: token, Timeout: admin.Timeout}, nil
}

// whoAmI is the user kube-apiserver authenticates token as (a SelfSubjectReview).
func (c *ControlPlane) whoAmI(ctx context.Context, token string) (authenticationv1.UserInfo, error) {
	cfg, err := c.TokenConfig(token)
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	review, err := kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return review.Status.UserInfo, nil
}

// waitOIDCTrusted waits until kube-apiserver authenticates the issuer's tokens: its JWT
// authenticator reads the issuer's discovery and keys in the background after it starts.
func (c *ControlPlane) waitOIDCTrusted(ctx context.Context, api *process) error {
	token, err := c.OIDCToken(ctx, "controlplane")
	if err != nil {
		return err
	}
	return waitReady(ctx, api, time.Minute, func(ctx context.Context) bool {
		user, err := c.whoAmI(ctx, token)
		return err == nil && user.Username == OIDCPrefix+"controlplane"
	})
}
