package space

import (
	"context"
	"fmt"
	"io"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	tenancyregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy"
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
// update, a Space keeps its Account, and only a user who may update namespaces cluster-wide
// changes kiosk.sh/ labels and annotations.
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
	if a.GetOperation() == admission.Update {
		old, _ := a.GetOldObject().(*tenancy.Space)
		if old == nil {
			return nil
		}
		admin, err := d.Allowed(ctx, authorizer.AttributesRecord{User: u, Verb: "update", Resource: "namespaces", ResourceRequest: true})
		if err != nil {
			return err
		}
		if errs := validateUpdate(s, old, admin); len(errs) > 0 {
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
	return checkSubject(ctx, d, u, s, admin)
}

// checkSubject lets u create Space s for its Account. Callers who are not its subjects
// learn nothing about whether it exists.
func checkSubject(ctx context.Context, d *Deps, u user.Info, s *tenancy.Space, admin bool) error {
	forbidden := apierrors.NewForbidden(tenancy.Resource("spaces"), s.Name,
		fmt.Errorf("User %q cannot create spaces for account %q: not a subject of the account", u.GetName(), s.Spec.Account))
	account, err := d.account(ctx, s.Spec.Account)
	if apierrors.IsNotFound(err) {
		if admin {
			return apierrors.NewNotFound(config.Resource("accounts"), s.Spec.Account)
		}
		return forbidden
	}
	if err != nil {
		return err
	}
	if !admin && !tenancyregistry.IsSubject(u, account.Spec.Subjects) {
		return forbidden
	}
	return nil
}

// spaceOf returns the Space of a request the plugins decide.
func spaceOf(a admission.Attributes) (*tenancy.Space, bool) {
	if a.GetResource().GroupResource() != tenancy.Resource("spaces") || a.GetSubresource() != "" {
		return nil, false
	}
	s, ok := a.GetObject().(*tenancy.Space)
	return s, ok
}

func validateUpdate(s, old *tenancy.Space, admin bool) field.ErrorList {
	var errs field.ErrorList
	if s.Spec.Account != old.Spec.Account {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "account"), "a Space cannot move to another Account"))
	}
	if admin {
		return errs
	}
	for _, m := range []struct {
		path     *field.Path
		new, old map[string]string
	}{
		{field.NewPath("metadata", "labels"), s.Labels, old.Labels},
		{field.NewPath("metadata", "annotations"), s.Annotations, old.Annotations},
	} {
		for k, v := range m.new {
			if isKiosk(k) && m.old[k] != v {
				errs = append(errs, field.Forbidden(m.path.Key(k), "kiosk.sh/ keys are set by admins only"))
			}
		}
		for k := range m.old {
			if _, kept := m.new[k]; isKiosk(k) && !kept {
				errs = append(errs, field.Forbidden(m.path.Key(k), "kiosk.sh/ keys are set by admins only"))
			}
		}
	}
	return errs
}

func isKiosk(key string) bool {
	return strings.HasPrefix(key, "kiosk.sh/") || strings.Contains(key, ".kiosk.sh/")
}
