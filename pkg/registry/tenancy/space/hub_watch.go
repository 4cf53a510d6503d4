package space

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/hub"
	tenancyregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy"
)

// memberRetry is how often a merged watch asks a member that went away again.
const memberRetry = 500 * time.Millisecond

// Watch merges the caller's watches of every cluster into one. Its resourceVersion records
// a position per cluster; a member that goes away sends DELETED for its Spaces, and ADDED
// once it answers again.
func (h *HubREST) Watch(ctx context.Context, options *metainternalversion.ListOptions) (watch.Interface, error) {
	r, hubMode, err := h.request(ctx, options)
	if err != nil {
		return nil, err
	}
	if !hubMode {
		return h.REST.Watch(ctx, options)
	}
	rv := rvOf(options)
	clusters, u, start, memberOpts := r.clusters, r.user, r.start, r.members
	opts := hub.WatchOptions{
		Start:         start,
		Fresh:         rv == "" || rv == "0",
		InitialEvents: options.SendInitialEvents != nil && *options.SendInitialEvents,
		Bookmarks:     options.AllowWatchBookmarks,
		Retry:         memberRetry,
		NewObject:     h.New,
		Tag:           func(cluster string, obj runtime.Object) { h.tag(cluster, obj.(*tenancy.Space)) },
	}
	sources := make([]hub.Source, 0, len(clusters))
	for _, c := range clusters {
		if c == hub.Local {
			sources = append(sources, h.localSource(options, memberOpts))
			continue
		}
		sources = append(sources, h.memberSource(c, u, memberOpts))
	}
	w, err := hub.Watch(ctx, sources, opts)
	if err != nil {
		return nil, err
	}
	tenancyregistry.WatchStarted(ctx)
	return w, nil
}

func (h *HubREST) localSource(options *metainternalversion.ListOptions, m memberSelectors) hub.Source {
	return hub.Source{
		Cluster: hub.Local,
		Stable:  true,
		Watch: func(ctx context.Context, rv string, initial bool) (watch.Interface, error) {
			o := &metainternalversion.ListOptions{LabelSelector: m.label, FieldSelector: m.field, ResourceVersion: rv,
				AllowWatchBookmarks: true}
			if initial {
				o.SendInitialEvents = &initial
				o.ResourceVersionMatch = metav1.ResourceVersionMatchNotOlderThan
			}
			// Tag changes the objects: they must be this watch's own.
			return h.REST.watch(ctx, o, false)
		},
	}
}

func (h *HubREST) memberSource(cluster string, u user.Info, m memberSelectors) hub.Source {
	return hub.Source{
		Cluster: cluster,
		List: func(ctx context.Context) ([]runtime.Object, string, error) {
			items, rv, err := h.listMember(ctx, cluster, u, m.list(""))
			if apierrors.IsForbidden(err) {
				// The member lets the caller list nothing: an empty cluster for them.
				return nil, "", nil
			}
			if err != nil {
				return nil, "", err
			}
			objs := make([]runtime.Object, len(items))
			for i := range items {
				objs[i] = &items[i]
			}
			return objs, rv, nil
		},
		Watch: func(ctx context.Context, rv string, initial bool) (watch.Interface, error) {
			spaces, err := h.memberSpaces(ctx, cluster, u, true)
			if err != nil {
				return nil, err
			}
			o := m.list(rv)
			o.ResourceVersionMatch = ""
			o.AllowWatchBookmarks = true
			if initial {
				o.SendInitialEvents = &initial
				o.ResourceVersionMatch = metav1.ResourceVersionMatchNotOlderThan
			}
			w, err := spaces.Watch(ctx, o)
			if err != nil {
				return nil, err
			}
			return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
				if s, ok := e.Object.(*tenancyv1alpha1.Space); ok {
					internal := &tenancy.Space{}
					if err := tenancyv1alpha1.Convert_v1alpha1_Space_To_tenancy_Space(s, internal, nil); err != nil {
						return watch.Event{Type: watch.Error, Object: &apierrors.NewInternalError(err).ErrStatus}, true
					}
					e.Object = internal
				}
				return e, true
			}), nil
		},
	}
}
