// Command localcerts writes the certificates, keys and kubeconfigs of the local control plane
// started by hack/local-up.sh. It keeps every file that is still valid for what is asked, so
// re-running it changes nothing, and replaces the ones that are missing, expiring or stale
// (another CA, other names).
//
// Files in --dir: ca, front-proxy-ca and serving-ca (.crt/.key); kube-apiserver (serving),
// tenancy-apiserver-serving (serving, for localhost, 127.0.0.1 and <service>.<namespace>.svc),
// front-proxy-client, tenancy-apiserver and kube-controller-manager (client); with --node-name
// also kubelet, kube-scheduler, kube-proxy, kube-router (clients, with kubeconfigs) and
// kube-apiserver-kubelet-client (kube-apiserver towards the kubelet); etcd-ca with
// tenancy-etcd-peer, tenancy-etcd-server and tenancy-apiserver-etcd-client (the tenancy etcd
// cluster's TLS, hack/lib/tenancy-etcd.sh); sa.key/sa.pub
// (service-account token signing); oidc-ca and oidc-issuer (the local OpenID Connect issuer of
// hack/oidc: its own CA, and its serving certificate for localhost, 127.0.0.1 and ::1) and
// oidc-signing.key/oidc-signing.pub (its ID token signing key); tenancy-apiserver.kubeconfig and
// kube-controller-manager.kubeconfig. The admin kubeconfig goes to --admin-kubeconfig. With
// --admission-config, kube-apiserver's admission configuration goes there, and the kubeconfig
// of its webhook client certificate (accountquota-webhook-client) beside it as
// webhook.kubeconfig. With --authentication-config, kube-apiserver's AuthenticationConfiguration
// goes there: it trusts the issuer at --oidc-issuer-url (see authentication.go).
package main

import (
	"crypto"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// options are the command line of localcerts.
type options struct {
	Dir             string
	Server          string
	AdminKubeconfig string
	AdmissionConfig string
	Service         string
	Namespace       string
	ServiceIP       net.IP
	// NodeName, when set, adds the local node's identities (see nodeSpecs) and kubeconfigs.
	NodeName string
	// NodeIP is the node's address, added to kube-apiserver's certificate (it listens there
	// for Pods); only with NodeName.
	NodeIP net.IP
	// AuthenticationConfig, when set, is where kube-apiserver's AuthenticationConfiguration
	// is written, trusting the issuer at OIDCIssuerURL for the audience OIDCAudience.
	AuthenticationConfig string
	OIDCIssuerURL        string
	OIDCAudience         string
}

func main() {
	var o options
	var serviceIP, nodeIP string
	fs := flag.NewFlagSet("localcerts", flag.ContinueOnError)
	fs.StringVar(&o.Dir, "dir", "", "Directory of the certificates, keys and component kubeconfigs (required).")
	fs.StringVar(&o.Server, "server", "", "URL of kube-apiserver written into the kubeconfigs (required).")
	fs.StringVar(&o.AdminKubeconfig, "admin-kubeconfig", "", "Path of the admin kubeconfig (default <dir>/admin.kubeconfig).")
	fs.StringVar(&o.AdmissionConfig, "admission-config", "", "Path of kube-apiserver's admission configuration, which calls webhooks with the webhook client certificate (default: not written).")
	fs.StringVar(&o.Service, "service", "tenancy-apiserver", "Name of the Service the APIServices point to.")
	fs.StringVar(&o.Namespace, "namespace", "tenancy-system", "Namespace of that Service.")
	fs.StringVar(&serviceIP, "service-ip", "10.96.0.1", "ClusterIP of the kubernetes Service, added to kube-apiserver's certificate.")
	fs.StringVar(&o.NodeName, "node-name", "", "Name of the local node: adds the kubelet's, kube-scheduler's, kube-proxy's and kube-router's client certificates and kubeconfigs, and kube-apiserver's client certificate towards the kubelet (default: no node).")
	fs.StringVar(&nodeIP, "node-ip", "", "The node's address, added to kube-apiserver's certificate (with --node-name).")
	fs.StringVar(&o.AuthenticationConfig, "authentication-config", "", "Path of kube-apiserver's AuthenticationConfiguration, which trusts the local OIDC issuer (default: not written).")
	fs.StringVar(&o.OIDCIssuerURL, "oidc-issuer-url", "", "URL of the local OIDC issuer (https://127.0.0.1:<port>), with --authentication-config.")
	fs.StringVar(&o.OIDCAudience, "oidc-audience", "tenancy-local", "The audience kube-apiserver accepts in the issuer's ID tokens.")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	o.ServiceIP = net.ParseIP(serviceIP)
	if nodeIP != "" {
		if o.NodeIP = net.ParseIP(nodeIP); o.NodeIP == nil {
			fmt.Fprintf(os.Stderr, "localcerts: --node-ip %q is not an IP address\n", nodeIP)
			os.Exit(2)
		}
	}
	if err := run(o, time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "localcerts:", err)
		os.Exit(1)
	}
}

func (o *options) validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("--dir is required"))
	}
	if o.Server == "" {
		errs = append(errs, errors.New("--server is required"))
	}
	if o.Service == "" || o.Namespace == "" {
		errs = append(errs, errors.New("--service and --namespace must not be empty"))
	}
	if o.ServiceIP == nil {
		errs = append(errs, errors.New("--service-ip is not an IP address"))
	}
	if o.NodeIP != nil && o.NodeName == "" {
		errs = append(errs, errors.New("--node-ip needs --node-name"))
	}
	if o.AuthenticationConfig != "" {
		if u, err := url.Parse(o.OIDCIssuerURL); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("--oidc-issuer-url %q: --authentication-config needs the issuer's https URL", o.OIDCIssuerURL))
		}
		if o.OIDCAudience == "" {
			errs = append(errs, errors.New("--oidc-audience must not be empty"))
		}
	}
	return errors.Join(errs...)
}

// run makes sure every file exists and is valid at time now.
func run(o options, now time.Time) error {
	if err := o.validate(); err != nil {
		return err
	}
	if o.AdminKubeconfig == "" {
		o.AdminKubeconfig = filepath.Join(o.Dir, "admin.kubeconfig")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", o.Dir, err)
	}
	pairs := map[string]*keyPair{}
	for _, spec := range specs(o) {
		kp, err := ensureKeyPair(o.Dir, spec, pairs[spec.CA], now)
		if err != nil {
			return err
		}
		pairs[spec.Name] = kp
	}
	for _, name := range []string{serviceAccountKey, oidcSigningKey} {
		if err := ensureSigningKey(o.Dir, name); err != nil {
			return err
		}
	}
	configs := []struct {
		path, context, client string
	}{
		{o.AdminKubeconfig, "admin", adminClient},
		{filepath.Join(o.Dir, "tenancy-apiserver.kubeconfig"), "tenancy-apiserver", tenancyClient},
		{filepath.Join(o.Dir, "kube-controller-manager.kubeconfig"), "kube-controller-manager", controllerManager},
	}
	if o.NodeName != "" {
		for _, name := range []string{kubelet, kubeScheduler, kubeProxy, kubeRouter} {
			configs = append(configs, struct{ path, context, client string }{filepath.Join(o.Dir, name+".kubeconfig"), name, name})
		}
	}
	for _, c := range configs {
		data, err := kubeconfig(o.Server, c.context, pairs[clusterCA], pairs[c.client])
		if err != nil {
			return err
		}
		if err := writeFile(c.path, data, 0o600); err != nil {
			return err
		}
	}
	if o.AdmissionConfig != "" {
		if err := writeAdmissionConfig(o.AdmissionConfig, o.Dir); err != nil {
			return err
		}
	}
	if o.AuthenticationConfig != "" {
		return writeAuthenticationConfig(o.AuthenticationConfig, o.OIDCIssuerURL, o.OIDCAudience, pairs[oidcCA])
	}
	return nil
}

// ensureKeyPair returns the stored pair for spec when it is still valid, or issues and stores
// a new one.
func ensureKeyPair(dir string, spec certSpec, ca *keyPair, now time.Time) (*keyPair, error) {
	if spec.CA != "" && ca == nil {
		return nil, fmt.Errorf("%s: issuer %s is not known", spec.Name, spec.CA)
	}
	kp, err := loadKeyPair(dir, spec.Name)
	if err != nil {
		fmt.Fprintf(os.Stderr, "localcerts: replacing %s: %v\n", spec.Name, err)
	}
	if kp != nil && matches(kp, spec, ca, now) {
		return kp, nil
	}
	kp, err = issue(spec, ca, now)
	if err != nil {
		return nil, err
	}
	if err := saveKeyPair(dir, spec.Name, kp); err != nil {
		return nil, err
	}
	return kp, nil
}

// ensureSigningKey keeps <name>.key, a token signing key, when it holds one, and writes its
// public key to <name>.pub.
func ensureSigningKey(dir, name string) error {
	keyPath, pubPath := filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	var key crypto.Signer
	if data, err := os.ReadFile(keyPath); err == nil {
		key, _ = parsePrivateKey(data)
	}
	if key == nil {
		var err error
		if key, err = newKey(); err != nil {
			return err
		}
		k, err := keyPEM(key)
		if err != nil {
			return err
		}
		if err := writeFile(keyPath, k, 0o600); err != nil {
			return err
		}
	}
	pub, err := publicKeyPEM(key.Public())
	if err != nil {
		return err
	}
	return writeFile(pubPath, pub, 0o644)
}
