// Package plugin holds what the kubectl plugins kubectl-space and kubectl-account share: the
// kubectl flags and the clients they give, output flags and printing like kubectl get, the
// error format of kubectl, and shell completion of Space and Account names.
package plugin

import (
	"fmt"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
)

// Factory gives a command the clients for the cluster that kubectl's flags and kubeconfig
// (--kubeconfig, --context, --as, --token, ...) select, and the command's streams.
type Factory struct {
	ConfigFlags *genericclioptions.ConfigFlags
	Streams     genericiooptions.IOStreams
}

// NewFactory is a Factory with kubectl's flags, not yet bound to a command.
func NewFactory(streams genericiooptions.IOStreams) *Factory {
	return &Factory{ConfigFlags: genericclioptions.NewConfigFlags(true), Streams: streams}
}

// RESTConfig is the client configuration the flags and the kubeconfig give.
func (f *Factory) RESTConfig() (*rest.Config, error) {
	cfg, err := f.ConfigFlags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	return cfg, nil
}

// Tenancy is the generated clientset for config.kiosk.sh and tenancy.kiosk.sh.
func (f *Factory) Tenancy() (versioned.Interface, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	c, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("tenancy client: %w", err)
	}
	return c, nil
}

// Kube is the clientset for the Kubernetes API.
func (f *Factory) Kube() (kubernetes.Interface, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return c, nil
}
