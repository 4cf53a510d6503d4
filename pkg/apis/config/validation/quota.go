package validation

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// standardQuotaResources are the quota resource names without a domain that Kubernetes knows.
var standardQuotaResources = sets.New(
	"pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
	"persistentvolumeclaims", "services.nodeports", "services.loadbalancers",
	"cpu", "memory", "ephemeral-storage", "storage",
	"requests.cpu", "requests.memory", "requests.storage", "requests.ephemeral-storage",
	"limits.cpu", "limits.memory", "limits.ephemeral-storage",
)

// integerQuotaResources may only be limited to whole numbers.
var integerQuotaResources = sets.New(
	"pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
	"persistentvolumeclaims", "services.nodeports", "services.loadbalancers",
)

// podComputeResources are what the pod-related scopes may constrain.
var podComputeResources = sets.New(
	"pods", "count/pods", "cpu", "memory", "ephemeral-storage",
	"requests.cpu", "requests.memory", "requests.ephemeral-storage",
	"limits.cpu", "limits.memory", "limits.ephemeral-storage",
)

func validateQuotaResourceName(name string, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range utilvalidation.IsQualifiedName(name) {
		allErrs = append(allErrs, field.Invalid(p, name, msg))
	}
	if len(allErrs) > 0 {
		return allErrs
	}
	if !strings.Contains(name, "/") && !standardQuotaResources.Has(name) &&
		!strings.HasPrefix(name, corev1.ResourceHugePagesPrefix) && !strings.HasPrefix(name, corev1.ResourceRequestsHugePagesPrefix) {
		allErrs = append(allErrs, field.Invalid(p, name, "must be a standard resource for quota"))
	}
	return allErrs
}

func isIntegerQuotaResource(name string) bool {
	return integerQuotaResources.Has(name) || strings.HasPrefix(name, "count/") ||
		strings.HasSuffix(name, ".storageclass.storage.k8s.io/persistentvolumeclaims")
}

// scopeAllows reports whether a quota scope may constrain a resource.
func scopeAllows(scope corev1.ResourceQuotaScope, resource string) bool {
	switch scope {
	case corev1.ResourceQuotaScopeBestEffort:
		return resource == "pods" || resource == "count/pods"
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		return resource == "persistentvolumeclaims" || resource == "count/persistentvolumeclaims" ||
			resource == "requests.storage" || strings.HasSuffix(resource, ".storageclass.storage.k8s.io/requests.storage") ||
			strings.HasSuffix(resource, ".storageclass.storage.k8s.io/persistentvolumeclaims")
	default:
		return podComputeResources.Has(resource) || strings.HasPrefix(resource, corev1.DefaultResourceRequestsPrefix) ||
			strings.HasPrefix(resource, corev1.ResourceHugePagesPrefix)
	}
}

var knownScopes = []string{
	string(corev1.ResourceQuotaScopeTerminating), string(corev1.ResourceQuotaScopeNotTerminating),
	string(corev1.ResourceQuotaScopeBestEffort), string(corev1.ResourceQuotaScopeNotBestEffort),
	string(corev1.ResourceQuotaScopePriorityClass), string(corev1.ResourceQuotaScopeCrossNamespacePodAffinity),
	string(corev1.ResourceQuotaScopeVolumeAttributesClass),
}

// ValidateResourceQuotaSpec checks a quota as Kubernetes checks a ResourceQuota spec:
// resource names, quantities, scopes, and the scope selector.
func ValidateResourceQuotaSpec(spec *corev1.ResourceQuotaSpec, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	hp := p.Child("hard")
	for name, q := range spec.Hard {
		rp := hp.Key(string(name))
		allErrs = append(allErrs, validateQuotaResourceName(string(name), rp)...)
		if q.Sign() < 0 {
			allErrs = append(allErrs, field.Invalid(rp, q.String(), "must be greater than or equal to 0"))
		}
		if isIntegerQuotaResource(string(name)) && q.MilliValue()%1000 != 0 {
			allErrs = append(allErrs, field.Invalid(rp, q.String(), "must be an integer"))
		}
	}

	scopes := sets.New[string]()
	for i, s := range spec.Scopes {
		sp := p.Child("scopes").Index(i)
		if !sets.New(knownScopes...).Has(string(s)) {
			allErrs = append(allErrs, field.NotSupported(sp, s, knownScopes))
			continue
		}
		scopes.Insert(string(s))
	}
	if spec.ScopeSelector != nil {
		for i, req := range spec.ScopeSelector.MatchExpressions {
			allErrs = append(allErrs, validateScopeRequirement(req, p.Child("scopeSelector", "matchExpressions").Index(i))...)
			scopes.Insert(string(req.ScopeName))
		}
	}
	for _, pair := range [][2]corev1.ResourceQuotaScope{
		{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating},
		{corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort},
	} {
		if scopes.Has(string(pair[0])) && scopes.Has(string(pair[1])) {
			allErrs = append(allErrs, field.Invalid(p.Child("scopes"), sets.List(scopes),
				"conflicting scopes: "+string(pair[0])+" and "+string(pair[1])))
		}
	}
	for _, s := range sets.List(scopes) {
		for name := range spec.Hard {
			if !scopeAllows(corev1.ResourceQuotaScope(s), string(name)) {
				allErrs = append(allErrs, field.Invalid(hp.Key(string(name)), string(name),
					"unsupported resource for scope "+s))
			}
		}
	}
	return allErrs
}

func validateScopeRequirement(req corev1.ScopedResourceSelectorRequirement, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if !sets.New(knownScopes...).Has(string(req.ScopeName)) {
		allErrs = append(allErrs, field.NotSupported(p.Child("scopeName"), req.ScopeName, knownScopes))
	}
	withValues := req.ScopeName == corev1.ResourceQuotaScopePriorityClass || req.ScopeName == corev1.ResourceQuotaScopeVolumeAttributesClass
	switch req.Operator {
	case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
		if !withValues {
			allErrs = append(allErrs, field.Invalid(p.Child("operator"), req.Operator,
				"must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"))
		}
		if len(req.Values) == 0 {
			allErrs = append(allErrs, field.Required(p.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
		}
	case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
		if len(req.Values) != 0 {
			allErrs = append(allErrs, field.Invalid(p.Child("values"), req.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
		}
	default:
		allErrs = append(allErrs, field.NotSupported(p.Child("operator"), req.Operator, []string{
			string(corev1.ScopeSelectorOpIn), string(corev1.ScopeSelectorOpNotIn),
			string(corev1.ScopeSelectorOpExists), string(corev1.ScopeSelectorOpDoesNotExist)}))
	}
	return allErrs
}

// splitYAMLDocuments splits a multi-document YAML string at "---" lines.
func splitYAMLDocuments(s string) []string {
	var docs []string
	var cur []string
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimRight(line, " \t\r") == "---" {
			docs = append(docs, strings.Join(cur, "\n"))
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	return append(docs, strings.Join(cur, "\n"))
}
