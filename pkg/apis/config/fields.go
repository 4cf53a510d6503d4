package config

import "k8s.io/apimachinery/pkg/fields"

// AccountQuotaFields are the fields an AccountQuota can be selected by, besides
// metadata.name.
func AccountQuotaFields(q *AccountQuota) fields.Set {
	return fields.Set{"spec.account": q.Spec.Account}
}

// TemplateInstanceFields are the fields a TemplateInstance can be selected by, besides
// metadata.name and metadata.namespace.
func TemplateInstanceFields(ti *TemplateInstance) fields.Set {
	return fields.Set{"spec.template": ti.Spec.Template}
}
