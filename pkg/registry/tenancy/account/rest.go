// Package account serves tenancy.kiosk.sh Accounts: the config.kiosk.sh Accounts as their
// users see them. Users see the Accounts they belong to; admins, who may write
// config.kiosk.sh Accounts, may also create, update and delete them here, so kiosk
// manifests written against tenancy.kiosk.sh apply unchanged.
package account

import (
	"context"
	"fmt"
	"strconv"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/table"
	tenancyregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy"
)

// ConfigStore is the storage of config.kiosk.sh Accounts this view reads and writes through.
type ConfigStore interface {
	rest.Getter
	rest.Lister
	rest.Creater
	rest.Updater
	rest.GracefulDeleter
}

// REST serves tenancy.kiosk.sh Accounts.
type REST struct {
	index      *access.Index
	store      ConfigStore
	scheme     *runtime.Scheme
	visibility tenancyregistry.Visibility
	*table.Convertor
}

var (
	_ rest.Storage              = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.Getter               = &REST{}
	_ rest.Lister               = &REST{}
	_ rest.Watcher              = &REST{}
	_ rest.Creater              = &REST{}
	_ rest.Updater              = &REST{}
	_ rest.GracefulDeleter      = &REST{}
	_ rest.SingularNameProvider = &REST{}
	_ rest.CategoriesProvider   = &REST{}
)

// NewREST returns the Account view over the config Account storage.
func NewREST(index *access.Index, store ConfigStore, scheme *runtime.Scheme, visibility tenancyregistry.Visibility) *REST {
	return &REST{index: index, store: store, scheme: scheme, visibility: visibility, Convertor: table.New(columns, cells)}
}

// New returns an empty Account.
func (r *REST) New() runtime.Object { return &tenancy.Account{} }

// NewList returns an empty AccountList.
func (r *REST) NewList() runtime.Object { return &tenancy.AccountList{} }

// Destroy releases nothing: the config storage belongs to the config group.
func (r *REST) Destroy() {}

// NamespaceScoped is false: Accounts are cluster-scoped.
func (r *REST) NamespaceScoped() bool { return false }

// GetSingularName returns "account".
func (r *REST) GetSingularName() string { return "account" }

// Categories puts Accounts in "kubectl get kiosk".
func (r *REST) Categories() []string { return []string{"kiosk"} }

func userFrom(ctx context.Context) (user.Info, error) {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewUnauthorized("no user in the request")
	}
	return u, nil
}

// Get returns an Account the caller may see; any other name is NotFound.
func (r *REST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	u, err := userFrom(ctx)
	if err != nil {
		return nil, err
	}
	obj, err := r.store.Get(ctx, name, options)
	if err != nil {
		return nil, r.translate(err, name)
	}
	in := obj.(*config.Account)
	seen, err := r.visibility.SeesAccount(ctx, u, name, r.subjectsOf(in))
	if err != nil {
		return nil, err
	}
	if !seen {
		return nil, apierrors.NewNotFound(tenancy.Resource("accounts"), name)
	}
	return r.toTenancy(in)
}

// List returns the Accounts the caller may see, from the access index.
func (r *REST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	u, err := userFrom(ctx)
	if err != nil {
		return nil, err
	}
	all, err := r.seesEverything(ctx, u)
	if err != nil {
		return nil, err
	}
	selectors := tenancyregistry.SelectorsOf(options)
	snap, page, err := tenancyregistry.ListPage(r.index.Accounts(), tenancyregistry.SubjectOf(u), all, options,
		tenancy.Resource("accounts"), func(obj runtime.Object) bool { return matches(selectors, obj) })
	if err != nil {
		return nil, err
	}
	out := &tenancy.AccountList{ListMeta: page.ListMeta, Items: make([]tenancy.Account, 0, len(page.Names))}
	for _, name := range page.Names {
		obj, _ := snap.Get(name)
		a, err := r.toTenancy(obj.(*config.Account))
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, *a)
	}
	return out, nil
}

func (r *REST) seesEverything(ctx context.Context, u user.Info) (bool, error) {
	if r.index.Accounts().Snapshot().SeesEverything(tenancyregistry.SubjectOf(u)) {
		return true, nil
	}
	return r.visibility.SeesAllAccounts(ctx, u)
}

func matches(s tenancyregistry.Selectors, obj runtime.Object) bool {
	a, ok := obj.(*config.Account)
	return ok && s.Matches(labels.Set(a.Labels), fields.Set{"metadata.name": a.Name})
}

// Watch reports the Accounts the caller may see as they change: ADDED when the caller
// becomes a subject or is granted access, DELETED when that ends.
func (r *REST) Watch(ctx context.Context, options *metainternalversion.ListOptions) (watch.Interface, error) {
	u, err := userFrom(ctx)
	if err != nil {
		return nil, err
	}
	view := r.index.Accounts()
	opts, err := tenancyregistry.WatchOptionsOf[runtime.Object](options, tenancy.Resource("accounts"))
	if err != nil {
		return nil, err
	}
	err = tenancyregistry.DecideEverything(ctx, &opts, func(ctx context.Context) (bool, error) {
		return r.visibility.SeesAllAccounts(ctx, u)
	})
	if err != nil {
		return nil, err
	}
	selectors := tenancyregistry.SelectorsOf(options)
	opts.Subject = tenancyregistry.SubjectOf(u)
	opts.Filter = func(obj runtime.Object) bool { return matches(selectors, obj) }
	opts.Convert = func(obj runtime.Object, rev uint64) runtime.Object {
		a, err := r.toTenancy(obj.(*config.Account))
		if err != nil {
			return &metav1.Status{Status: metav1.StatusFailure, Message: err.Error()}
		}
		a.ResourceVersion = strconv.FormatUint(rev, 10)
		return a
	}
	opts.Bookmark = tenancyregistry.Bookmark(r.New)
	w, err := view.Watch(ctx, opts, access.DefaultWatchConfig)
	if err != nil {
		return nil, tenancyregistry.WatchError(err, opts.Revision, view.Snapshot().Revision())
	}
	tenancyregistry.WatchStarted(ctx)
	return w, nil
}

// Create creates the config Account, for callers who may create config Accounts.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	a := obj.(*tenancy.Account)
	if err := r.authorizeWrite(ctx, "create", a.Name); err != nil {
		return nil, err
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj); err != nil {
			return nil, err
		}
	}
	in, err := r.toConfig(a)
	if err != nil {
		return nil, err
	}
	out, err := r.store.Create(ctx, in, nil, options)
	if err != nil {
		return nil, r.translate(err, a.Name)
	}
	return r.toTenancy(out.(*config.Account))
}

// Update updates the config Account, for callers who may update config Accounts.
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	if err := r.authorizeWrite(ctx, "update", name); err != nil {
		return nil, false, err
	}
	var translateErr error
	configInfo := rest.DefaultUpdatedObjectInfo(nil, func(ctx context.Context, newObj, oldObj runtime.Object) (runtime.Object, error) {
		var old runtime.Object = &tenancy.Account{}
		if oldObj != nil {
			o, err := r.toTenancy(oldObj.(*config.Account))
			if err != nil {
				return nil, err
			}
			old = o
		}
		updated, err := objInfo.UpdatedObject(ctx, old)
		if err != nil {
			translateErr = err
			return nil, err
		}
		if oldObj == nil {
			if createValidation != nil {
				if err := createValidation(ctx, updated); err != nil {
					return nil, err
				}
			}
		} else if updateValidation != nil {
			if err := updateValidation(ctx, updated, old); err != nil {
				return nil, err
			}
		}
		return r.toConfig(updated.(*tenancy.Account))
	})
	out, created, err := r.store.Update(ctx, name, configInfo, nil, nil, forceAllowCreate, options)
	if err != nil {
		if translateErr != nil {
			return nil, false, translateErr
		}
		return nil, false, r.translate(err, name)
	}
	a, err := r.toTenancy(out.(*config.Account))
	return a, created, err
}

// Delete deletes the config Account, for callers who may delete config Accounts.
func (r *REST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	if err := r.authorizeWrite(ctx, "delete", name); err != nil {
		return nil, false, err
	}
	validate := func(ctx context.Context, obj runtime.Object) error {
		if deleteValidation == nil {
			return nil
		}
		a, err := r.toTenancy(obj.(*config.Account))
		if err != nil {
			return err
		}
		return deleteValidation(ctx, a)
	}
	out, immediate, err := r.store.Delete(ctx, name, validate, options)
	if err != nil {
		return nil, false, r.translate(err, name)
	}
	if a, ok := out.(*config.Account); ok {
		t, err := r.toTenancy(a)
		return t, immediate, err
	}
	return out, immediate, nil
}

func (r *REST) authorizeWrite(ctx context.Context, verb, name string) error {
	u, err := userFrom(ctx)
	if err != nil {
		return err
	}
	ok, err := r.visibility.MayWriteAccounts(ctx, u, verb, name)
	if err != nil {
		return err
	}
	if !ok {
		return apierrors.NewForbidden(tenancy.Resource("accounts"), name,
			fmt.Errorf("User %q cannot %s resource \"accounts\" in API group \"config.kiosk.sh\" at the cluster scope", u.GetName(), verb))
	}
	return nil
}

// translate renames errors about config Accounts to the tenancy resource.
func (r *REST) translate(err error, name string) error {
	status, ok := err.(apierrors.APIStatus)
	if !ok {
		return err
	}
	s := status.Status()
	if s.Details != nil && s.Details.Group == config.GroupName {
		s.Details.Group = tenancy.GroupName
		if s.Details.Name == "" {
			s.Details.Name = name
		}
		switch {
		case apierrors.IsNotFound(err):
			return apierrors.NewNotFound(tenancy.Resource("accounts"), name)
		case apierrors.IsAlreadyExists(err):
			return apierrors.NewAlreadyExists(tenancy.Resource("accounts"), name)
		}
		return &apierrors.StatusError{ErrStatus: s}
	}
	return err
}

func (r *REST) subjectsOf(a *config.Account) []rbacv1.Subject { return a.Spec.Subjects }

func (r *REST) toTenancy(in *config.Account) (*tenancy.Account, error) {
	out := &tenancy.Account{ObjectMeta: *in.ObjectMeta.DeepCopy()}
	if err := r.scheme.Convert(&in.Spec, &out.Spec, nil); err != nil {
		return nil, fmt.Errorf("converting Account %s: %w", in.Name, err)
	}
	if err := r.scheme.Convert(&in.Status, &out.Status, nil); err != nil {
		return nil, fmt.Errorf("converting Account %s: %w", in.Name, err)
	}
	return out, nil
}

func (r *REST) toConfig(in *tenancy.Account) (*config.Account, error) {
	out := &config.Account{ObjectMeta: *in.ObjectMeta.DeepCopy()}
	if err := r.scheme.Convert(&in.Spec, &out.Spec, nil); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("spec: %v", err))
	}
	if err := r.scheme.Convert(&in.Status, &out.Status, nil); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("status: %v", err))
	}
	return out, nil
}

var columns = []metav1.TableColumnDefinition{
	table.NameColumn,
	{Name: "Spaces", Type: "integer", Description: "Number of Spaces the Account owns."},
	table.AgeColumn,
}

func cells(obj runtime.Object) ([]interface{}, error) {
	a, ok := obj.(*tenancy.Account)
	if !ok {
		return nil, fmt.Errorf("not an Account: %T", obj)
	}
	return []interface{}{a.Name, int64(len(a.Status.Namespaces)), table.Age(a.CreationTimestamp)}, nil
}
