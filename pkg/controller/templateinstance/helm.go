package templateinstance

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/template"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/template/helm"
)

// Reasons a Template's repository credentials cannot be read.
const (
	ReasonSecretNotFound   = "SecretNotFound"
	ReasonSecretNotAllowed = "SecretNotAllowed"
)

// renderChart renders the Template's chart into the instance's namespace.
func (c *Controller) renderChart(ctx context.Context, ti *configv1alpha1.TemplateInstance, tmpl *configv1alpha1.Template, values template.Values) ([]*unstructured.Unstructured, error) {
	h := tmpl.Resources.Helm
	repo := h.Chart.Repository
	if repo == nil {
		return nil, &template.Error{Reason: template.ReasonManifestInvalid, Field: "resources.helm.chart.repository", Message: "must be set"}
	}
	if c.charts == nil {
		return nil, &template.Error{Reason: helm.ReasonChartInvalid, Field: "resources.helm", Message: "this server renders no Helm charts"}
	}
	chartValues, err := values.SubstituteYAML(h.Values, "resources.helm.values")
	if err != nil {
		return nil, err
	}
	src := helm.Source{RepoURL: repo.RepoURL, Name: repo.Name, Version: repo.Version}
	if src.Username, err = c.credential(ctx, repo.Username, "resources.helm.chart.repository.username"); err != nil {
		return nil, err
	}
	if src.Password, err = c.credential(ctx, repo.Password, "resources.helm.chart.repository.password"); err != nil {
		return nil, err
	}
	set := make([]helm.SetValue, 0, len(h.SetValues))
	for _, sv := range h.SetValues {
		set = append(set, helm.SetValue{Name: sv.Name, Value: sv.Value, ForceString: sv.ForceString})
	}
	return c.charts.Render(ctx, src, helm.Release{Name: h.ReleaseName, Template: tmpl.Name, Namespace: ti.Namespace,
		Values: chartValues, SetValues: set})
}

// credential reads one key of a Secret a Template names. The reference is the admin's: it is
// never substituted with parameters, must name a namespace, and may not point into a Space,
// whose Secrets its tenants write. So no tenant can make the server read, or send to a
// repository, a Secret of their choosing.
func (c *Controller) credential(ctx context.Context, ref *configv1alpha1.HelmSecretRef, field string) (string, error) {
	if ref == nil {
		return "", nil
	}
	if ref.Namespace == "" || ref.Name == "" || ref.Key == "" {
		return "", &template.Error{Reason: ReasonSecretNotAllowed, Field: field, Message: "must name the namespace, name and key of a Secret"}
	}
	if ns, err := c.namespaces.Get(ref.Namespace); err == nil && ns.Labels[configv1alpha1.AccountLabel] != "" {
		return "", &template.Error{Reason: ReasonSecretNotAllowed, Field: field + ".namespace",
			Message: fmt.Sprintf("namespace %s is a Space of account %s; keep repository credentials in a namespace no account owns", ref.Namespace, ns.Labels[configv1alpha1.AccountLabel])}
	}
	secret, err := c.secrets.Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", &template.Error{Reason: ReasonSecretNotFound, Field: field, Message: fmt.Sprintf("secret %s/%s does not exist", ref.Namespace, ref.Name)}
	}
	if err != nil {
		return "", fmt.Errorf("reading secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	value, ok := secret.Data[ref.Key]
	if !ok {
		return "", &template.Error{Reason: ReasonSecretNotFound, Field: field + ".key", Message: fmt.Sprintf("secret %s/%s has no key %s", ref.Namespace, ref.Name, ref.Key)}
	}
	return string(value), nil
}
