package main

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfig is a self-contained kubeconfig for one client certificate: the CA, the
// certificate and the key are embedded, so the file works wherever it is copied.
func kubeconfig(server, contextName string, ca, client *keyPair) ([]byte, error) {
	key, err := keyPEM(client.Key)
	if err != nil {
		return nil, err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{
		Server:                   server,
		CertificateAuthorityData: certPEM(ca.Cert),
	}
	cfg.AuthInfos[contextName] = &clientcmdapi.AuthInfo{
		ClientCertificateData: certPEM(client.Cert),
		ClientKeyData:         key,
	}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: "local", AuthInfo: contextName}
	cfg.CurrentContext = contextName
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("encoding the %s kubeconfig: %w", contextName, err)
	}
	return data, nil
}
