package main

import (
	"fmt"
	"path/filepath"
)

// writeAdmissionConfig writes kube-apiserver's admission configuration to path and, beside
// it, webhook.kubeconfig: MutatingAdmissionWebhook and ValidatingAdmissionWebhook present the
// client certificate of WebhookCallerName to every webhook, so that tenancy-apiserver's Pod
// isolation and AccountQuota webhooks can refuse every other caller.
func writeAdmissionConfig(path, dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("admission configuration: %w", err)
	}
	if path, err = filepath.Abs(path); err != nil {
		return fmt.Errorf("admission configuration: %w", err)
	}
	webhook := filepath.Join(filepath.Dir(path), "webhook.kubeconfig")
	if err := writeFile(webhook, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
users:
- name: "*"
  user:
    client-certificate: %s
    client-key: %s
`, filepath.Join(dir, webhookClient+".crt"), filepath.Join(dir, webhookClient+".key"))), 0o600); err != nil {
		return err
	}
	return writeFile(path, []byte(fmt.Sprintf(`apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: MutatingAdmissionWebhook
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    kubeConfigFile: %[1]s
- name: ValidatingAdmissionWebhook
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    kubeConfigFile: %[1]s
`, webhook)), 0o600)
}
