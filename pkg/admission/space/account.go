package space

import (
	"context"
	"fmt"
	"io"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	tenancyregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
)

// AccountPluginName is the SpaceAccount plugin's name in --enable-admission-plugins.
const AccountPluginName = "SpaceAccount"

// RegisterAccount adds the SpaceAccount plugin to plugins.
func RegisterAccount(plugins *admission.Plugins) {
	plugins.Register(AccountPluginName, func(io.Reader) (admission.Interface, error) { return NewAccount(), nil })
}

// Account is the SpaceAccount plugin.
type Account struct{ base }

var (
	_ admission.ValidationInterface = &Account{}
	_ WantsTenancy                  = &Account{}
)

// SetTenancy receives the server's Tenancy.
func (p *Account) SetTenancy(t *Tenancy) {
	p.base.SetTenancy(t)
	t.account.Store(true)
}

// NewAccount returns the SpaceAccount plugin.
func NewAccount() *Account { return &Account{newBase(admission.Create, admission.Update)} }

// Validate lets a user create a Space only for an Account they are a subject of; a user
// who may create namespaces cluster-wide may create one for any Account, or for none. On
// update, a Space keeps its Account. Only a user who may create (on update: update)
// namespaces cluster-wide sets the admin-only labels and annotations (see adminOnly) or
// changes those the Account's spaceTemplate sets; a name whose service accounts another
// Account names as subjects is refused to everyone.
func (p *Account) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	s, ok := spaceOf(a)
	if !ok {
		return nil
	}
	d, err := p.deps()
	if err != nil {
		return err
	}
	u := a.GetUserInfo()
	if u == nil {
		return admission.NewForbidden(a, fmt.Errorf("no user"))
	}
	if _, errs := sleep.Parse(s.Annotations, annotationsPath); len(errs) > 0 {
		return apierrors.NewInvalid(tenancy.Kind("Space"), s.Name, errs)
	}
	if a.GetOperation() == admission.Update {
		old, _ := a.GetOldObject().(*tenancy.Space)
		if old == nil {
			return nil
		}
		admin, err := d.Allowed(ctx, authorizer.AttributesRecord{User: u, Verb: "update", Resource: "namespaces", ResourceRequest: true})
		if err != nil {
			return err
		}
		errs := validateMove(s, old)
		if !admin {
			var labels, annotations map[string]string
			if old.Spec.Account != "" {
				account, err := d.Accounts.Get(ctx, old.Spec.Account)
				if err != nil && !apierrors.IsNotFound(err) {
					return err
				}
				if account != nil {
					labels, annotations = account.Spec.Space.SpaceTemplate.Labels, account.Spec.Space.SpaceTemplate.Annotations
				}
			}
			errs = append(errs, validateKeys(s, old, labels, annotations)...)
		}
		if len(errs) > 0 {
			return apierrors.NewInvalid(tenancy.Kind("Space"), s.Name, errs)
		}
		return nil
	}
	admin, err := d.Allowed(ctx, authorizer.AttributesRecord{User: u, Verb: "create", Resource: "namespaces", ResourceRequest: true})
	if err != nil {
		return err
	}
	if s.Spec.Account == "" {
		if !admin {
			return apierrors.NewBadRequest("spec.account is required")
		}
		return nil
	}
	account, err := checkSubject(ctx, d, u, s, admin)
	if err != nil {
		return err
	}
	if err := checkServiceAccountNamespace(d, s); err != nil {
		return err
	}
	if !admin {
		// The Account's spaceTemplate wins over what the create sets; see mergeSpaceTemplate.
		template := account.Spec.Space.SpaceTemplate
		if errs := validateKeys(s, nil, template.Labels, template.Annotations); len(errs) > 0 {
			return apierrors.NewInvalid(tenancy.Kind("Space"), s.Name, errs)
		}
	}
	return nil
}

// checkServiceAccountNamespace refuses a Space named after the namespace of a service
// account that another Account names as its subject: whoever made that namespace could
// make the service account and act as that Account's user.
func checkServiceAccountNamespace(d *Deps, s *tenancy.Space) error {
	for name, obj := range d.Index.Accounts().Snapshot().All() {
		a, ok := obj.(*config.Account)
		if !ok || name == s.Spec.Account {
			continue
		}
		if slices.Contains(accounts.ServiceAccountNamespaces(a.Spec.Subjects), s.Name) {
			return apierrors.NewForbidden(tenancy.Resource("spaces"), s.Name, field.Forbidden(field.NewPath("metadata", "name"),
				fmt.Sprintf("namespace %q holds service accounts that another Account names as subjects; only that Account may have a Space of this name", s.Name)))
		}
	}
	return nil
}

// checkSubject lets u create Space s for its Account. Callers who are not its subjects
// learn nothing about whether it exists.
func checkSubject(ctx context.Context, d *Deps, u user.Info, s *tenancy.Space, admin bool) (*configv1alpha1.Account, error) {
	forbidden := apierrors.NewForbidden(tenancy.Resource("spaces"), s.Name,
		fmt.Errorf("User %q cannot create spaces for account %q: not a subject of the account", u.GetName(), s.Spec.Account))
	account, err := d.Accounts.Get(ctx, s.Spec.Account)
	if apierrors.IsNotFound(err) {
		if admin {
			return nil, apierrors.NewNotFound(config.Resource("accounts"), s.Spec.Account)
		}
		return nil, forbidden
	}
	if err != nil {
		return nil, err
	}
	if !admin && !tenancyregistry.IsSubject(u, account.Spec.Subjects) {
		return nil, forbidden
	}
	return account, nil
}

// spaceOf returns the Space of a request the plugins decide.
func spaceOf(a admission.Attributes) (*tenancy.Space, bool) {
	if a.GetResource().GroupResource() != tenancy.Resource("spaces") || a.GetSubresource() != "" {
		return nil, false
	}
	s, ok := a.GetObject().(*tenancy.Space)
	return s, ok
}

// validateMove keeps a Space in its Account.
func validateMove(s, old *tenancy.Space) field.ErrorList {
	if s.Spec.Account != old.Spec.Account {
		return field.ErrorList{field.Forbidden(field.NewPath("spec", "account"), "a Space cannot move to another Account")}
	}
	return nil
}
