// Package mandatory is the admission plugin that keeps an Account's mandatory
// TemplateInstances as the Account sets them: only admins of the Account (callers who may
// update it) and the server itself delete them, change their spec, their kiosk.sh/account
// label or their mandatory annotation, or mark an instance mandatory. Deleting is also
// allowed while the instance's namespace is being deleted.
package mandatory

import (
	"context"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/kubernetes"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

// PluginName is the name of the plugin in --enable-admission-plugins.
const PluginName = "MandatoryTemplateInstance"

const (
	// Annotation marks a TemplateInstance an Account requires in each of its Spaces.
	Annotation = configv1alpha1.MandatoryAnnotation
	// AccountLabel names the Account of a mandatory TemplateInstance.
	AccountLabel = configv1alpha1.AccountLabel
)

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) { return New(), nil })
}

// Plugin protects mandatory TemplateInstances.
type Plugin struct {
	*admission.Handler
	authorizer authorizer.Authorizer
	kube       kubernetes.Interface
}

var (
	_ admission.ValidationInterface          = &Plugin{}
	_ initializer.WantsAuthorizer            = &Plugin{}
	_ initializer.WantsExternalKubeClientSet = &Plugin{}
	_ admission.InitializationValidator      = &Plugin{}
)

// New returns the plugin.
func New() *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create, admission.Update, admission.Delete)}
}

// SetAuthorizer receives the server's authorizer, which asks kube-apiserver.
func (p *Plugin) SetAuthorizer(a authorizer.Authorizer) { p.authorizer = a }

// SetExternalKubeClientSet receives the client that reads namespaces from kube-apiserver.
// Without one (a server serving config.kiosk.sh alone), no namespace counts as terminating.
func (p *Plugin) SetExternalKubeClientSet(k kubernetes.Interface) { p.kube = k }

// ValidateInitialization fails when the plugin has no authorizer.
func (p *Plugin) ValidateInitialization() error {
	if p.authorizer == nil {
		return errors.New("MandatoryTemplateInstance needs an authorizer")
	}
	return nil
}

func isMandatory(ti *config.TemplateInstance) bool {
	return ti != nil && ti.Annotations[Annotation] == "true"
}

// Validate refuses writes of mandatory TemplateInstances by callers who are not admins of
// their Account.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != config.Resource("templateinstances") || a.GetSubresource() != "" {
		return nil
	}
	obj, _ := a.GetObject().(*config.TemplateInstance)
	old, _ := a.GetOldObject().(*config.TemplateInstance)
	u := a.GetUserInfo()
	if u != nil && u.GetName() == user.APIServerUser {
		return nil
	}
	var field, account string
	switch a.GetOperation() {
	case admission.Delete:
		if !isMandatory(old) {
			return nil
		}
		account = old.Labels[AccountLabel]
		terminating, err := p.terminating(ctx, a.GetNamespace())
		if err != nil {
			return admission.NewForbidden(a, fmt.Errorf("reading namespace %s: %w", a.GetNamespace(), err))
		}
		if terminating {
			return nil
		}
	case admission.Create:
		if !isMandatory(obj) {
			return nil
		}
		account, field = obj.Labels[AccountLabel], "metadata.annotations["+Annotation+"]"
	case admission.Update:
		if obj == nil {
			return nil
		}
		if !isMandatory(old) {
			if !isMandatory(obj) {
				return nil
			}
			account, field = obj.Labels[AccountLabel], "metadata.annotations["+Annotation+"]"
			break
		}
		account = old.Labels[AccountLabel]
		var err error
		if field, err = changed(old, obj); err != nil {
			return admission.NewForbidden(a, fmt.Errorf("comparing template instance %s: %w", obj.Name, err))
		}
		if field == "" {
			return nil
		}
	default:
		return nil
	}
	if u == nil {
		return admission.NewForbidden(a, errors.New("no user"))
	}
	allowed, err := p.admin(ctx, u, account)
	if allowed {
		return nil
	}
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("checking whether %q is an admin of account %q: %w", u.GetName(), account, err))
	}
	if a.GetOperation() == admission.Delete {
		// Named after the old object: a deletecollection admits each instance under the
		// collection's attributes, which name none.
		return apierrors.NewForbidden(a.GetResource().GroupResource(), old.Name,
			fmt.Errorf("mandatory template instance of account %q is deleted by the account only", account))
	}
	return admission.NewForbidden(a, fmt.Errorf("%s: mandatory template instance of account %q is set by the account only", field, account))
}

// changed names the first protected field that differs between old and obj, or "": the
// fields the Account sets, compared as the Account controller compares them.
func changed(old, obj *config.TemplateInstance) (string, error) {
	var was, is configv1alpha1.TemplateInstance
	if err := scheme.Scheme.Convert(old, &was, nil); err != nil {
		return "", err
	}
	if err := scheme.Scheme.Convert(obj, &is, nil); err != nil {
		return "", err
	}
	return accounts.MandatoryDrift(&is, &was), nil
}

// admin reports whether u may update the Account.
func (p *Plugin) admin(ctx context.Context, u user.Info, account string) (bool, error) {
	// Without an Account name, only those who may update every Account are admins.
	decision, _, err := p.authorizer.Authorize(ctx, authorizer.AttributesRecord{
		User: u, Verb: "update", APIGroup: config.GroupName, Resource: "accounts", Name: account, ResourceRequest: true,
	})
	return decision == authorizer.DecisionAllow, err
}

// terminating reports whether the namespace is being deleted, or gone.
func (p *Plugin) terminating(ctx context.Context, namespace string) (bool, error) {
	if p.kube == nil {
		return false, nil
	}
	ns, err := p.kube.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating, nil
}
