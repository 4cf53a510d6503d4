package validation

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
)

func validCluster() *config.Cluster {
	return &config.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: "member", ResourceVersion: "1"},
		Spec: config.ClusterSpec{
			Server:            "https://member.example:6443",
			CredentialsSecret: config.ClusterSecretReference{Namespace: "kube-system", Name: "member-credentials"},
		},
	}
}

func TestValidateCluster(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(c *config.Cluster)
		want   []wantErr
	}{
		{"valid", func(*config.Cluster) {}, nil},
		{"no server", func(c *config.Cluster) { c.Spec.Server = "" }, []wantErr{{field.ErrorTypeRequired, "spec.server"}}},
		{"http", func(c *config.Cluster) { c.Spec.Server = "http://member:6443" }, []wantErr{{field.ErrorTypeInvalid, "spec.server"}}},
		{"no host", func(c *config.Cluster) { c.Spec.Server = "https:///path" }, []wantErr{{field.ErrorTypeInvalid, "spec.server"}}},
		{"credentials in the URL", func(c *config.Cluster) { c.Spec.Server = "https://u:p@member:6443" }, []wantErr{{field.ErrorTypeInvalid, "spec.server"}}},
		{"not a URL", func(c *config.Cluster) { c.Spec.Server = "https://[::1" }, []wantErr{{field.ErrorTypeInvalid, "spec.server"}}},
		{"CA without certificate", func(c *config.Cluster) { c.Spec.CABundle = []byte("not PEM") }, []wantErr{{field.ErrorTypeInvalid, "spec.caBundle"}}},
		{"no secret", func(c *config.Cluster) { c.Spec.CredentialsSecret = config.ClusterSecretReference{} }, []wantErr{
			{field.ErrorTypeRequired, "spec.credentialsSecret.namespace"}, {field.ErrorTypeRequired, "spec.credentialsSecret.name"}}},
		{"bad secret names", func(c *config.Cluster) {
			c.Spec.CredentialsSecret = config.ClusterSecretReference{Namespace: "Kube_System", Name: "a/b"}
		}, []wantErr{{field.ErrorTypeInvalid, "spec.credentialsSecret.namespace"}, {field.ErrorTypeInvalid, "spec.credentialsSecret.name"}}},
		{"name not a DNS label", func(c *config.Cluster) { c.Name = "member.example" }, []wantErr{{field.ErrorTypeInvalid, "metadata.name"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validCluster()
			tc.modify(c)
			check(t, ValidateCluster(c), tc.want)
		})
	}
}
