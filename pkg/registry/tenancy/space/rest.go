// Package space serves tenancy.kiosk.sh Spaces: the namespaces labelled kiosk.sh/account,
// each shown only to the users who may get it.
package space

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/table"
	tenancyregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
)

// REST serves Spaces from the access index.
type REST struct {
	index      *access.Index
	visibility tenancyregistry.Visibility
	writer     Writer
	*table.Convertor
	// OnGet, when set, is told of each get of one Space that the caller may see: for sleep
	// mode, a get is activity in that Space. A list is not, or a UI polling the Spaces
	// would keep them all awake.
	OnGet func(u user.Info, name string)
	// events are the objects of the watches' events, made once for all their watchers.
	events tenancyregistry.SharedEvents[*corev1.Namespace]
}

var (
	_ rest.Storage              = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.Getter               = &REST{}
	_ rest.Lister               = &REST{}
	_ rest.Watcher              = &REST{}
	_ rest.SingularNameProvider = &REST{}
	_ rest.CategoriesProvider   = &REST{}
)

// NewREST returns the Space storage over the access index.
func NewREST(index *access.Index, visibility tenancyregistry.Visibility, writer Writer) *REST {
	return &REST{index: index, visibility: visibility, writer: writer, Convertor: table.New(columns, cells)}
}

// New returns an empty Space.
func (r *REST) New() runtime.Object { return &tenancy.Space{} }

// NewList returns an empty SpaceList.
func (r *REST) NewList() runtime.Object { return &tenancy.SpaceList{} }

// Destroy releases nothing: the access index belongs to the server.
func (r *REST) Destroy() {}

// NamespaceScoped is false: Spaces are cluster-scoped.
func (r *REST) NamespaceScoped() bool { return false }

// GetSingularName returns "space".
func (r *REST) GetSingularName() string { return "space" }

// Categories puts Spaces in "kubectl get kiosk".
func (r *REST) Categories() []string { return []string{"kiosk"} }

func userFrom(ctx context.Context) (user.Info, error) {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewUnauthorized("no user in the request")
	}
	return u, nil
}

// seesEverything reports whether u sees every Space: through RBAC, as the index knows, or
// through any authorizer that lets u list namespaces cluster-wide.
func (r *REST) seesEverything(ctx context.Context, u user.Info, snap *access.Snapshot[*corev1.Namespace]) (bool, error) {
	if snap.SeesEverything(tenancyregistry.SubjectOf(u)) {
		return true, nil
	}
	return r.visibility.SeesAllSpaces(ctx, u)
}

// Get returns a Space the caller may see; any other name is NotFound, so that existence
// does not leak.
func (r *REST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	u, err := userFrom(ctx)
	if err != nil {
		return nil, err
	}
	snap := r.index.Spaces().Snapshot()
	ns, ok := snap.Get(name)
	if !ok {
		return nil, apierrors.NewNotFound(tenancy.Resource("spaces"), name)
	}
	if !snap.Visible(tenancyregistry.SubjectOf(u), name) {
		all, err := r.visibility.SeesAllSpaces(ctx, u)
		if err != nil {
			return nil, err
		}
		if !all {
			return nil, apierrors.NewNotFound(tenancy.Resource("spaces"), name)
		}
	}
	if r.OnGet != nil {
		r.OnGet(u, name)
	}
	return FromNamespace(ns), nil
}

// List returns the Spaces the caller may see that match the selectors, sorted by name, one
// page at a time when asked.
func (r *REST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	u, err := userFrom(ctx)
	if err != nil {
		return nil, err
	}
	all, err := r.seesEverything(ctx, u, r.index.Spaces().Snapshot())
	if err != nil {
		return nil, err
	}
	selectors := tenancyregistry.SelectorsOf(options)
	snap, page, err := tenancyregistry.ListPage(r.index.Spaces(), tenancyregistry.SubjectOf(u), all, options,
		tenancy.Resource("spaces"), func(ns *corev1.Namespace) bool { return matches(selectors, FromNamespace(ns)) })
	if err != nil {
		return nil, err
	}
	list := &tenancy.SpaceList{ListMeta: page.ListMeta, Items: make([]tenancy.Space, 0, len(page.Names))}
	for _, name := range page.Names {
		ns, _ := snap.Get(name)
		list.Items = append(list.Items, *FromNamespace(ns))
	}
	return list, nil
}

func matches(s tenancyregistry.Selectors, space *tenancy.Space) bool {
	return s.Matches(labels.Set(space.Labels), Fields(space))
}

// Watch reports the Spaces the caller may see as they change: ADDED when a Space appears or
// access is granted, DELETED when it goes or access is revoked.
func (r *REST) Watch(ctx context.Context, options *metainternalversion.ListOptions) (watch.Interface, error) {
	return r.watch(ctx, options, true)
}

// watch starts a watch. With shared, its events carry objects shared with every other
// watch that sends the same Space at the same revision (tenancyregistry.SharedEvents), for
// the generic server to encode once; without, objects of its own, for a reader that
// changes them.
func (r *REST) watch(ctx context.Context, options *metainternalversion.ListOptions, shared bool) (watch.Interface, error) {
	u, err := userFrom(ctx)
	if err != nil {
		return nil, err
	}
	view := r.index.Spaces()
	opts, err := tenancyregistry.WatchOptionsOf[*corev1.Namespace](options, tenancy.Resource("spaces"))
	if err != nil {
		return nil, err
	}
	err = tenancyregistry.DecideEverything(ctx, &opts, func(ctx context.Context) (bool, error) {
		return r.visibility.SeesAllSpaces(ctx, u)
	})
	if err != nil {
		return nil, err
	}
	selectors := tenancyregistry.SelectorsOf(options)
	opts.Subject = tenancyregistry.SubjectOf(u)
	opts.Filter = func(ns *corev1.Namespace) bool { return matches(selectors, FromNamespace(ns)) }
	opts.Convert = convertNamespace
	if shared {
		opts.Convert = func(ns *corev1.Namespace, rev uint64) runtime.Object {
			return r.events.Object(ns, rev, convertNamespace)
		}
	}
	opts.Bookmark = tenancyregistry.Bookmark(r.New)
	w, err := view.Watch(ctx, opts, access.DefaultWatchConfig)
	if err != nil {
		return nil, tenancyregistry.WatchError(err, opts.Revision, view.Snapshot().Revision())
	}
	tenancyregistry.WatchStarted(ctx)
	return w, nil
}

// convertNamespace is the Space a watch sends for ns at revision rev.
func convertNamespace(ns *corev1.Namespace, rev uint64) runtime.Object {
	s := FromNamespace(ns)
	s.ResourceVersion = strconv.FormatUint(rev, 10)
	return s
}

// Fields are the fields a Space can be selected by: metadata.name and tenancy.SpaceFields.
func Fields(s *tenancy.Space) fields.Set {
	set := tenancy.SpaceFields(s)
	set["metadata.name"] = s.Name
	return set
}

var columns = []metav1.TableColumnDefinition{
	table.NameColumn,
	{Name: "Account", Type: "string", Description: "The Account that owns the Space."},
	{Name: "Phase", Type: "string", Description: "Active, Sleeping or Terminating."},
	table.AgeColumn,
	{Name: "Sleep After", Type: "string", Priority: 1, Description: "Inactivity after which sleep mode puts the Space to sleep (sleepmode.loft.sh/sleep-after)."},
	{Name: "Last Activity", Type: "string", Priority: 1, Description: "Time since the Space was last used, as sleep mode records it."},
	{Name: "Sleeping Since", Type: "string", Priority: 1, Description: "Time the Space has been asleep."},
}

func cells(obj runtime.Object) ([]interface{}, error) {
	s, ok := obj.(*tenancy.Space)
	if !ok {
		return nil, fmt.Errorf("not a Space: %T", obj)
	}
	phase := s.Status.Phase
	if phase == "" {
		phase = corev1.NamespaceActive
	}
	sleepAfter := ""
	if c, _ := sleep.Parse(s.Annotations, nil); c.SleepAfter > 0 {
		sleepAfter = duration.HumanDuration(c.SleepAfter)
	}
	return []interface{}{s.Name, s.Spec.Account, string(phase), table.Age(s.CreationTimestamp),
		sleepAfter, since(s.Annotations, sleep.LastActivity), since(s.Annotations, sleep.SleepingSince)}, nil
}

// since is the time since the unix time in annotation key, "" when there is none.
func since(annotations map[string]string, key string) string {
	t := sleep.Unix(annotations, key)
	if t.IsZero() {
		return ""
	}
	return table.Age(metav1.NewTime(t))
}
