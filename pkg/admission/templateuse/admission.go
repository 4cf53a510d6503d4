// Package templateuse is the admission plugin that lets a user instantiate only the
// Templates RBAC lets them `use`: creating a TemplateInstance needs the verb use on
// templates.config.kiosk.sh/<spec.template>.
package templateuse

import (
	"context"
	"errors"
	"fmt"
	"io"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
)

// PluginName is the name of the plugin in --enable-admission-plugins.
const PluginName = "TemplateUse"

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) { return New(), nil })
}

// Plugin checks the use permission on Templates.
type Plugin struct {
	*admission.Handler
	authorizer authorizer.Authorizer
}

var (
	_ admission.ValidationInterface     = &Plugin{}
	_ initializer.WantsAuthorizer       = &Plugin{}
	_ admission.InitializationValidator = &Plugin{}
)

// New returns the plugin.
func New() *Plugin { return &Plugin{Handler: admission.NewHandler(admission.Create)} }

// SetAuthorizer receives the server's authorizer, which asks kube-apiserver.
func (p *Plugin) SetAuthorizer(a authorizer.Authorizer) { p.authorizer = a }

// ValidateInitialization fails when the plugin has no authorizer.
func (p *Plugin) ValidateInitialization() error {
	if p.authorizer == nil {
		return errors.New("TemplateUse needs an authorizer")
	}
	return nil
}

// Validate refuses a TemplateInstance whose creator may not use its Template. The server
// itself, which creates the mandatory instances of Accounts, is exempt.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != config.Resource("templateinstances") || a.GetSubresource() != "" {
		return nil
	}
	ti, ok := a.GetObject().(*config.TemplateInstance)
	if !ok {
		return nil
	}
	u := a.GetUserInfo()
	if u == nil {
		return admission.NewForbidden(a, errors.New("no user"))
	}
	if u.GetName() == user.APIServerUser {
		return nil
	}
	decision, _, err := p.authorizer.Authorize(ctx, authorizer.AttributesRecord{
		User: u, Verb: "use", APIGroup: config.GroupName, Resource: "templates", Name: ti.Spec.Template, ResourceRequest: true,
	})
	if decision == authorizer.DecisionAllow {
		return nil
	}
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("checking use of template %s: %w", ti.Spec.Template, err))
	}
	return admission.NewForbidden(a, fmt.Errorf("User %q cannot use template %q: it needs the verb \"use\" on templates.config.kiosk.sh %q",
		u.GetName(), ti.Spec.Template, ti.Spec.Template))
}
