package validation

import (
	"crypto/x509"
	"net/url"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
)

// ValidateClusterName checks a Cluster name. Cluster names become the value of the
// kiosk.sh/cluster label and of a Space's spec.cluster, so they must be DNS-1123 labels.
func ValidateClusterName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSLabel(name, prefix)
}

// ValidateCluster checks a new Cluster.
func ValidateCluster(c *config.Cluster) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMeta(&c.ObjectMeta, false, ValidateClusterName, field.NewPath("metadata"))
	return append(allErrs, validateClusterSpec(&c.Spec, field.NewPath("spec"))...)
}

// ValidateClusterUpdate checks an update of a Cluster's spec and metadata.
func ValidateClusterUpdate(c, old *config.Cluster) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(allErrs, validateClusterSpec(&c.Spec, field.NewPath("spec"))...)
}

// ValidateClusterStatusUpdate checks an update of a Cluster's status.
func ValidateClusterStatusUpdate(c, old *config.Cluster) field.ErrorList {
	allErrs := apivalidation.ValidateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	if c.Status.ObservedGeneration < 0 {
		allErrs = append(allErrs, field.Invalid(field.NewPath("status", "observedGeneration"), c.Status.ObservedGeneration, "must not be negative"))
	}
	return allErrs
}

func validateClusterSpec(spec *config.ClusterSpec, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	sp := p.Child("server")
	if spec.Server == "" {
		allErrs = append(allErrs, field.Required(sp, "the https URL of the member's kube-apiserver"))
	} else if u, err := url.Parse(spec.Server); err != nil {
		allErrs = append(allErrs, field.Invalid(sp, spec.Server, err.Error()))
	} else if u.Scheme != "https" || u.Host == "" {
		allErrs = append(allErrs, field.Invalid(sp, spec.Server, "must be an https URL with a host, such as https://member.example:6443"))
	} else if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		allErrs = append(allErrs, field.Invalid(sp, spec.Server, "must have no user information, query or fragment: credentials come from credentialsSecret"))
	}
	if len(spec.CABundle) > 0 && !x509.NewCertPool().AppendCertsFromPEM(spec.CABundle) {
		allErrs = append(allErrs, field.Invalid(p.Child("caBundle"), "<PEM>", "holds no PEM certificate"))
	}
	ref, rp := spec.CredentialsSecret, p.Child("credentialsSecret")
	if ref.Namespace == "" {
		allErrs = append(allErrs, field.Required(rp.Child("namespace"), "the namespace of the Secret with the hub's credentials"))
	} else {
		for _, msg := range apivalidation.ValidateNamespaceName(ref.Namespace, false) {
			allErrs = append(allErrs, field.Invalid(rp.Child("namespace"), ref.Namespace, msg))
		}
	}
	if ref.Name == "" {
		allErrs = append(allErrs, field.Required(rp.Child("name"), "the name of the Secret with the hub's credentials"))
	} else {
		for _, msg := range apivalidation.NameIsDNSSubdomain(ref.Name, false) {
			allErrs = append(allErrs, field.Invalid(rp.Child("name"), ref.Name, msg))
		}
	}
	return allErrs
}
