package framework

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// OIDCPrefix is what kube-apiserver puts before the user and group names of the local OIDC
// issuer's tokens (hack/localcerts' AuthenticationConfiguration).
const OIDCPrefix = "oidc:"

// Token describes an ID token of the local OIDC issuer (hack/oidc). Empty fields take the
// local control plane's settings: its issuer, its signing key, its audience, an hour.
type Token struct {
	User   string
	Groups []string
	// Lifetime is how long it is valid from its issue time; IssuedAgo is how long ago that was.
	Lifetime, IssuedAgo time.Duration
	// Audience, IssuerURL and SigningKeyFile replace the trusted ones, for tokens
	// kube-apiserver must refuse.
	Audience, IssuerURL, SigningKeyFile string
}

// OIDCIssuerPath is the oidc-issuer binary hack/local-up.sh starts.
func (c *Cluster) OIDCIssuerPath() string {
	return filepath.Join(filepath.Dir(c.BinaryPath()), "oidc-issuer")
}

// OIDCToken mints an ID token for user in groups with the local OIDC issuer, valid for an hour:
// kube-apiserver authenticates it as OIDCPrefix+user in the groups OIDCPrefix+group.
func (c *Cluster) OIDCToken(t testing.TB, user string, groups ...string) string {
	t.Helper()
	return c.MintToken(t, Token{User: user, Groups: groups})
}

// MintToken mints the ID token tok describes with `oidc-issuer token`, as a user of the local
// control plane does.
func (c *Cluster) MintToken(t testing.TB, tok Token) string {
	t.Helper()
	return c.oidcIssuerToken(t, tok, false)
}

func (c *Cluster) oidcIssuerToken(t testing.TB, tok Token, execCredential bool) string {
	t.Helper()
	args := c.tokenArgs(tok)
	if execCredential {
		args = append(args, "--exec-credential")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, c.OIDCIssuerPath(), args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", c.OIDCIssuerPath(), strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// tokenArgs is the command line of `oidc-issuer token` for tok.
func (c *Cluster) tokenArgs(tok Token) []string {
	args := []string{"token", "--env=" + filepath.Join(c.Dir, "env"), "--user=" + tok.User}
	for _, g := range tok.Groups {
		args = append(args, "--group="+g)
	}
	for _, f := range []struct{ flag, value string }{
		{"--audience", tok.Audience}, {"--issuer-url", tok.IssuerURL}, {"--signing-key-file", tok.SigningKeyFile},
	} {
		if f.value != "" {
			args = append(args, f.flag+"="+f.value)
		}
	}
	if tok.Lifetime != 0 {
		args = append(args, "--lifetime="+tok.Lifetime.String())
	}
	if tok.IssuedAgo != 0 {
		args = append(args, "--issued-ago="+tok.IssuedAgo.String())
	}
	return args
}

// WithToken runs kubectl with a kubeconfig that holds kube-apiserver's address and CA and
// authenticates with token alone: no client certificate, no impersonation.
func (c *Cluster) WithToken(t testing.TB, token string) Kubectl {
	t.Helper()
	return c.WithKubeconfig(c.credentialKubeconfig(t, "token", &clientcmdapi.AuthInfo{Token: token}))
}

// OIDCUser runs kubectl as a user of the local OIDC issuer the way users of a real identity
// provider sign in: a kubeconfig user whose exec plugin (`oidc-issuer token --exec-credential`,
// where kubelogin would be for a real provider) gives kubectl a fresh token for user in groups
// on every run.
func (c *Cluster) OIDCUser(t testing.TB, user string, groups ...string) Kubectl {
	t.Helper()
	args := append(c.tokenArgs(Token{User: user, Groups: groups}), "--exec-credential")
	return c.WithKubeconfig(c.credentialKubeconfig(t, "oidc-"+user, &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion:      "client.authentication.k8s.io/v1",
		Command:         c.OIDCIssuerPath(),
		Args:            args,
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}}))
}

// TokenClients are client-go clients for kube-apiserver that authenticate with token alone.
func (c *Cluster) TokenClients(t testing.TB, token string) Clients {
	t.Helper()
	admin := c.Config(t)
	return NewClients(t, &rest.Config{
		Host:            admin.Host,
		TLSClientConfig: rest.TLSClientConfig{CAData: admin.CAData, CAFile: admin.CAFile},
		BearerToken:     token,
		QPS:             admin.QPS, Burst: admin.Burst, Timeout: admin.Timeout, UserAgent: admin.UserAgent,
	})
}

// credentialKubeconfig writes a kubeconfig for kube-apiserver, from the admin kubeconfig's
// cluster, whose only credential is user, into a directory of the test.
func (c *Cluster) credentialKubeconfig(t testing.TB, name string, user *clientcmdapi.AuthInfo) string {
	t.Helper()
	admin, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		t.Fatalf("loading %s: %v", c.Kubeconfig, err)
	}
	adminContext, ok := admin.Contexts[admin.CurrentContext]
	if !ok || admin.Clusters[adminContext.Cluster] == nil {
		t.Fatalf("%s: no cluster for the current context %q", c.Kubeconfig, admin.CurrentContext)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = admin.Clusters[adminContext.Cluster]
	cfg.AuthInfos[name] = user
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "local", AuthInfo: name}
	cfg.CurrentContext = name
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
	return path
}
