// Package validation checks config.kiosk.sh objects and names the offending field in
// every error.
package validation

import (
	"fmt"
	"regexp"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
)

// AccountLabel is the namespace label that names a Space's Account. Admins may not set it
// through spaceTemplate: it is set from the Space's account.
const AccountLabel = "kiosk.sh/account"

// maxRegexpLength bounds a Template parameter's validation expression.
const maxRegexpLength = 1024

// ValidateAccountName checks an Account name. Account names become the value of the
// kiosk.sh/account namespace label, so they must be valid DNS-1123 labels (at most 63
// characters), which are also valid label values.
func ValidateAccountName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSLabel(name, prefix)
}

// ValidateAccount checks a new Account.
func ValidateAccount(a *config.Account) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMeta(&a.ObjectMeta, false, ValidateAccountName, field.NewPath("metadata"))
	return append(allErrs, validateAccountSpec(&a.Spec, field.NewPath("spec"))...)
}

// ValidateAccountUpdate checks an update of an Account's spec and metadata.
func ValidateAccountUpdate(a, old *config.Account) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMetaUpdate(&a.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(allErrs, validateAccountSpec(&a.Spec, field.NewPath("spec"))...)
}

// ValidateAccountStatusUpdate checks an update of an Account's status.
func ValidateAccountStatusUpdate(a, old *config.Account) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMetaUpdate(&a.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	seen := sets.New[string]()
	for i, ns := range a.Status.Namespaces {
		p := field.NewPath("status", "namespaces").Index(i).Child("name")
		for _, msg := range apivalidation.ValidateNamespaceName(ns.Name, false) {
			allErrs = append(allErrs, field.Invalid(p, ns.Name, msg))
		}
		if seen.Has(ns.Name) {
			allErrs = append(allErrs, field.Duplicate(p, ns.Name))
		}
		seen.Insert(ns.Name)
	}
	return allErrs
}

func validateAccountSpec(spec *config.AccountSpec, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i := range spec.Subjects {
		allErrs = append(allErrs, ValidateSubject(&spec.Subjects[i], p.Child("subjects").Index(i))...)
	}
	sp := p.Child("space")
	if spec.Space.Limit != nil && *spec.Space.Limit < 0 {
		allErrs = append(allErrs, field.Invalid(sp.Child("limit"), *spec.Space.Limit, "must be greater than or equal to 0"))
	}
	if r := spec.Space.ClusterRole; r != nil && *r != "" {
		for _, msg := range path.IsValidPathSegmentName(*r) {
			allErrs = append(allErrs, field.Invalid(sp.Child("clusterRole"), *r, msg))
		}
	}
	meta := sp.Child("spaceTemplate", "metadata")
	allErrs = append(allErrs, metav1validation.ValidateLabels(spec.Space.SpaceTemplate.Labels, meta.Child("labels"))...)
	allErrs = append(allErrs, apivalidation.ValidateAnnotations(spec.Space.SpaceTemplate.Annotations, meta.Child("annotations"))...)
	// Sleep mode's annotations are refused here, where they are set, rather than on each Space.
	_, sleepErrs := sleep.Parse(spec.Space.SpaceTemplate.Annotations, meta.Child("annotations"))
	allErrs = append(allErrs, sleepErrs...)
	for k := range spec.Space.SpaceTemplate.Annotations {
		if sleep.ServerWritten(k) {
			allErrs = append(allErrs, field.Forbidden(meta.Child("annotations").Key(k), "written by the server on each Space"))
		}
	}
	if _, ok := spec.Space.SpaceTemplate.Labels[AccountLabel]; ok {
		allErrs = append(allErrs, field.Forbidden(meta.Child("labels").Key(AccountLabel),
			"is set from the Space's account and may not be given here"))
	}
	names := sets.New[string]()
	for i, ti := range spec.Space.TemplateInstances {
		tp := sp.Child("templateInstances").Index(i)
		if ti.Name != "" {
			for _, msg := range apivalidation.NameIsDNSSubdomain(ti.Name, false) {
				allErrs = append(allErrs, field.Invalid(tp.Child("metadata", "name"), ti.Name, msg))
			}
		}
		name := ti.Name
		if name == "" {
			name = ti.Spec.Template
		}
		if names.Has(name) {
			allErrs = append(allErrs, field.Duplicate(tp.Child("metadata", "name"), name))
		}
		names.Insert(name)
		allErrs = append(allErrs, metav1validation.ValidateLabels(ti.Labels, tp.Child("metadata", "labels"))...)
		allErrs = append(allErrs, apivalidation.ValidateAnnotations(ti.Annotations, tp.Child("metadata", "annotations"))...)
		allErrs = append(allErrs, validateTemplateInstanceSpec(&ti.Spec, tp.Child("spec"))...)
	}
	allErrs = append(allErrs, validateAccountClusters(spec.Clusters, p.Child("clusters"))...)
	return append(allErrs, validateIsolation(&spec.Isolation, spec.Space.SpaceTemplate.Labels, p.Child("isolation"))...)
}

// validateAccountClusters checks the member clusters an Account selects: names of Clusters
// (DNS labels, each once) and a label selector.
func validateAccountClusters(c *config.AccountClusters, p *field.Path) field.ErrorList {
	if c == nil {
		return nil
	}
	var allErrs field.ErrorList
	seen := sets.New[string]()
	for i, name := range c.Names {
		np := p.Child("names").Index(i)
		for _, msg := range apivalidation.NameIsDNSLabel(name, false) {
			allErrs = append(allErrs, field.Invalid(np, name, msg))
		}
		if seen.Has(name) {
			allErrs = append(allErrs, field.Duplicate(np, name))
		}
		seen.Insert(name)
	}
	if c.Selector != nil {
		allErrs = append(allErrs, metav1validation.ValidateLabelSelector(c.Selector,
			metav1validation.LabelSelectorValidationOptions{}, p.Child("selector"))...)
	}
	return allErrs
}

// ValidateSubject checks one Account subject as RBAC does for binding subjects.
func ValidateSubject(s *rbacv1.Subject, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if s.Name == "" {
		allErrs = append(allErrs, field.Required(p.Child("name"), ""))
	}
	switch s.Kind {
	case rbacv1.UserKind, rbacv1.GroupKind:
		if s.APIGroup != rbacv1.GroupName {
			allErrs = append(allErrs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
		}
	case rbacv1.ServiceAccountKind:
		if s.APIGroup != "" {
			allErrs = append(allErrs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{""}))
		}
		if s.Name != "" {
			for _, msg := range apivalidation.ValidateServiceAccountName(s.Name, false) {
				allErrs = append(allErrs, field.Invalid(p.Child("name"), s.Name, msg))
			}
		}
		if s.Namespace == "" {
			allErrs = append(allErrs, field.Required(p.Child("namespace"), "a ServiceAccount subject needs its namespace"))
		}
	default:
		allErrs = append(allErrs, field.NotSupported(p.Child("kind"), s.Kind,
			[]string{rbacv1.UserKind, rbacv1.GroupKind, rbacv1.ServiceAccountKind}))
	}
	return allErrs
}

// ValidateAccountQuota checks a new AccountQuota.
func ValidateAccountQuota(q *config.AccountQuota) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMeta(&q.ObjectMeta, false, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateAccountQuotaSpec(&q.Spec, field.NewPath("spec"))...)
}

// ValidateAccountQuotaUpdate checks an update of an AccountQuota's spec and metadata.
func ValidateAccountQuotaUpdate(q, old *config.AccountQuota) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMetaUpdate(&q.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, validateAccountQuotaSpec(&q.Spec, field.NewPath("spec"))...)
	return append(allErrs, apivalidation.ValidateImmutableField(q.Spec.Account, old.Spec.Account, field.NewPath("spec", "account"))...)
}

// ValidateAccountQuotaStatusUpdate checks an update of an AccountQuota's status.
func ValidateAccountQuotaStatusUpdate(q, old *config.AccountQuota) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMetaUpdate(&q.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	sp := field.NewPath("status")
	allErrs = append(allErrs, validateResourceList(q.Status.Total.Hard, sp.Child("total", "hard"))...)
	allErrs = append(allErrs, validateResourceList(q.Status.Total.Used, sp.Child("total", "used"))...)
	for i, ns := range q.Status.Namespaces {
		p := sp.Child("namespaces").Index(i)
		for _, msg := range apivalidation.ValidateNamespaceName(ns.Namespace, false) {
			allErrs = append(allErrs, field.Invalid(p.Child("namespace"), ns.Namespace, msg))
		}
		allErrs = append(allErrs, validateResourceList(ns.Status.Used, p.Child("status", "used"))...)
	}
	return allErrs
}

func validateAccountQuotaSpec(spec *config.AccountQuotaSpec, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if spec.Account == "" {
		allErrs = append(allErrs, field.Required(p.Child("account"), "the Account the quota applies to"))
	} else {
		for _, msg := range ValidateAccountName(spec.Account, false) {
			allErrs = append(allErrs, field.Invalid(p.Child("account"), spec.Account, msg))
		}
	}
	return append(allErrs, ValidateResourceQuotaSpec(&spec.Quota, p.Child("quota"))...)
}

// ValidateTemplate checks a new Template.
func ValidateTemplate(t *config.Template) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMeta(&t.ObjectMeta, false, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateTemplateBody(t)...)
}

// ValidateTemplateUpdate checks an update of a Template.
func ValidateTemplateUpdate(t, old *config.Template) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMetaUpdate(&t.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(allErrs, validateTemplateBody(t)...)
}

// parameterName is the form of a Template parameter name.
var parameterName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func validateTemplateBody(t *config.Template) field.ErrorList {
	var allErrs field.ErrorList
	names := sets.New[string]()
	for i, param := range t.Parameters {
		p := field.NewPath("parameters").Index(i)
		switch {
		case param.Name == "":
			allErrs = append(allErrs, field.Required(p.Child("name"), ""))
		case !parameterName.MatchString(param.Name):
			allErrs = append(allErrs, field.Invalid(p.Child("name"), param.Name, "must consist of letters, digits and '_', and not start with a digit"))
		case names.Has(param.Name):
			allErrs = append(allErrs, field.Duplicate(p.Child("name"), param.Name))
		}
		names.Insert(param.Name)
		if param.Required && param.Value != "" {
			allErrs = append(allErrs, field.Invalid(p.Child("value"), param.Value, "a required parameter has no default value"))
		}
		if param.Validation == "" {
			continue
		}
		if len(param.Validation) > maxRegexpLength {
			allErrs = append(allErrs, field.TooLong(p.Child("validation"), "", maxRegexpLength))
			continue
		}
		re, err := regexp.Compile(param.Validation)
		if err != nil {
			allErrs = append(allErrs, field.Invalid(p.Child("validation"), param.Validation, err.Error()))
			continue
		}
		if param.Value != "" && !re.MatchString(param.Value) {
			allErrs = append(allErrs, field.Invalid(p.Child("value"), param.Value, fmt.Sprintf("does not match the parameter's validation %q", param.Validation)))
		}
	}
	rp := field.NewPath("resources")
	for i, m := range t.Resources.Manifests {
		allErrs = append(allErrs, validateManifest(m.Raw, rp.Child("manifests").Index(i))...)
	}
	if h := t.Resources.Helm; h != nil {
		hp := rp.Child("helm")
		repo := h.Chart.Repository
		if repo == nil {
			allErrs = append(allErrs, field.Required(hp.Child("chart", "repository"), ""))
		} else {
			cp := hp.Child("chart", "repository")
			if repo.Name == "" {
				allErrs = append(allErrs, field.Required(cp.Child("name"), ""))
			}
			if repo.RepoURL == "" && !isOCI(repo.Name) {
				allErrs = append(allErrs, field.Required(cp.Child("repoUrl"), "required unless the chart name is an oci:// reference"))
			}
			allErrs = append(allErrs, validateSecretRef(repo.Username, cp.Child("username"))...)
			allErrs = append(allErrs, validateSecretRef(repo.Password, cp.Child("password"))...)
		}
		for i, sv := range h.SetValues {
			if sv.Name == "" {
				allErrs = append(allErrs, field.Required(hp.Child("setValues").Index(i).Child("name"), ""))
			}
		}
		if h.Values != "" {
			var v map[string]interface{}
			if err := yaml.Unmarshal([]byte(h.Values), &v); err != nil {
				allErrs = append(allErrs, field.Invalid(hp.Child("values"), "", fmt.Sprintf("is not a YAML map: %v", err)))
			}
		}
	}
	return allErrs
}

func isOCI(name string) bool { return len(name) > 6 && name[:6] == "oci://" }

func validateSecretRef(ref *config.HelmSecretRef, p *field.Path) field.ErrorList {
	if ref == nil {
		return nil
	}
	var allErrs field.ErrorList
	if ref.Name == "" {
		allErrs = append(allErrs, field.Required(p.Child("name"), ""))
	}
	if ref.Namespace == "" {
		allErrs = append(allErrs, field.Required(p.Child("namespace"), ""))
	}
	if ref.Key == "" {
		allErrs = append(allErrs, field.Required(p.Child("key"), ""))
	}
	return allErrs
}

// validateManifest checks that a manifest is an object with apiVersion, kind and
// metadata.name, or a string of YAML documents each of that form. Values may still hold
// ${...} parameter references.
func validateManifest(raw []byte, p *field.Path) field.ErrorList {
	var v interface{}
	if err := yaml.Unmarshal(raw, &v); err != nil {
		return field.ErrorList{field.Invalid(p, "", fmt.Sprintf("is not JSON: %v", err))}
	}
	switch m := v.(type) {
	case map[string]interface{}:
		return validateManifestObject(m, p)
	case string:
		var allErrs field.ErrorList
		for i, doc := range splitYAMLDocuments(m) {
			var obj map[string]interface{}
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				allErrs = append(allErrs, field.Invalid(p, "", fmt.Sprintf("document %d is not a YAML object: %v", i, err)))
				continue
			}
			if obj == nil {
				continue
			}
			allErrs = append(allErrs, validateManifestObject(obj, p)...)
		}
		return allErrs
	default:
		return field.ErrorList{field.Invalid(p, "", "must be an object, or a string of YAML documents")}
	}
}

func validateManifestObject(m map[string]interface{}, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, key := range []string{"apiVersion", "kind"} {
		if s, _ := m[key].(string); s == "" {
			allErrs = append(allErrs, field.Required(p.Child(key), ""))
		}
	}
	meta, _ := m["metadata"].(map[string]interface{})
	if name, _ := meta["name"].(string); name == "" {
		if gen, _ := meta["generateName"].(string); gen == "" {
			allErrs = append(allErrs, field.Required(p.Child("metadata", "name"), ""))
		}
	}
	return allErrs
}

// ValidateTemplateInstance checks a new TemplateInstance.
func ValidateTemplateInstance(ti *config.TemplateInstance) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMeta(&ti.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateTemplateInstanceSpec(&ti.Spec, field.NewPath("spec"))...)
}

// ValidateTemplateInstanceUpdate checks an update of a TemplateInstance's spec and metadata.
func ValidateTemplateInstanceUpdate(ti, old *config.TemplateInstance) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMetaUpdate(&ti.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, validateTemplateInstanceSpec(&ti.Spec, field.NewPath("spec"))...)
	return append(allErrs, apivalidation.ValidateImmutableField(ti.Spec.Template, old.Spec.Template, field.NewPath("spec", "template"))...)
}

// ValidateTemplateInstanceStatusUpdate checks an update of a TemplateInstance's status.
func ValidateTemplateInstanceStatusUpdate(ti, old *config.TemplateInstance) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMetaUpdate(&ti.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	switch ti.Status.Status {
	case "", config.TemplateInstanceStatusPending, config.TemplateInstanceStatusDeployed, config.TemplateInstanceStatusFailed:
	default:
		allErrs = append(allErrs, field.NotSupported(field.NewPath("status", "status"), ti.Status.Status, []string{
			string(config.TemplateInstanceStatusPending), string(config.TemplateInstanceStatusDeployed), string(config.TemplateInstanceStatusFailed)}))
	}
	return allErrs
}

func validateTemplateInstanceSpec(spec *config.TemplateInstanceSpec, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if spec.Template == "" {
		allErrs = append(allErrs, field.Required(p.Child("template"), ""))
	} else {
		for _, msg := range apivalidation.NameIsDNSSubdomain(spec.Template, false) {
			allErrs = append(allErrs, field.Invalid(p.Child("template"), spec.Template, msg))
		}
	}
	names := sets.New[string]()
	for i, param := range spec.Parameters {
		pp := p.Child("parameters").Index(i).Child("name")
		if param.Name == "" {
			allErrs = append(allErrs, field.Required(pp, ""))
			continue
		}
		if names.Has(param.Name) {
			allErrs = append(allErrs, field.Duplicate(pp, param.Name))
		}
		names.Insert(param.Name)
	}
	return allErrs
}

// validateResourceList checks resource names and that quantities are not negative.
func validateResourceList(l corev1.ResourceList, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for name, q := range l {
		rp := p.Key(string(name))
		allErrs = append(allErrs, validateQuotaResourceName(string(name), rp)...)
		if q.Sign() < 0 {
			allErrs = append(allErrs, field.Invalid(rp, q.String(), "must be greater than or equal to 0"))
		}
	}
	return allErrs
}
