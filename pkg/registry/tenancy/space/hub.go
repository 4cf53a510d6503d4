package space

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"
	restclient "k8s.io/client-go/rest"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	tenancyclient "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned/typed/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/hub"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/table"
)

// memberTimeout bounds a list, get, create or delete in one member.
const memberTimeout = 10 * time.Second

// HubREST serves the Spaces of the server's own cluster and of its member clusters, the
// Clusters of config.kiosk.sh. For members it asks each member's tenancy-apiserver with the
// hub's credentials while impersonating the caller, so the member decides what the caller
// sees there; the hub only merges. Without members it serves exactly as REST.
type HubREST struct {
	*REST
	members *hub.Members
	hubCols *table.Convertor
	// views answers lists of a member from the caller's view of it, when it has one in sync.
	views *hub.ViewCache
}

var (
	_ rest.Getter          = &HubREST{}
	_ rest.Lister          = &HubREST{}
	_ rest.Watcher         = &HubREST{}
	_ rest.Creater         = &HubREST{}
	_ rest.GracefulDeleter = &HubREST{}
	_ rest.Updater         = &HubREST{}
	_ rest.TableConvertor  = &HubREST{}
)

// NewHubREST serves local's Spaces and those of members, keeping views of the members per
// caller within cache's bounds; run the returned cache (ViewCache.Run) for the life of the
// server.
func NewHubREST(local *REST, members *hub.Members, cache hub.CacheOptions) (*HubREST, *hub.ViewCache) {
	h := &HubREST{REST: local, members: members, hubCols: table.New(hubColumns, hubCells)}
	h.views = hub.NewViewCache(cache, func(cluster string, u user.Info) hub.Source {
		return h.memberSource(cluster, u, memberSelectors{label: labels.Everything(), field: fields.Everything()})
	})
	return h, h.views
}

// memberSpaces is the Space client of cluster for the caller u.
func (h *HubREST) memberSpaces(ctx context.Context, cluster string, u user.Info, watch bool) (tenancyclient.SpaceInterface, error) {
	cfg, rt, err := h.members.Transport(ctx, cluster)
	if err != nil {
		return nil, err
	}
	cfg = hub.As(cfg, u)
	if watch {
		cfg.Timeout = 0
	}
	cfg.WarningHandlerWithContext = memberWarnings{cluster: cluster}
	// Over the member's shared transport: its connections outlive this request.
	c, err := versioned.NewForConfigAndClient(cfg, hub.AsClient(rt, u, cfg.Timeout))
	if err != nil {
		return nil, err
	}
	return c.TenancyV1alpha1().Spaces(), nil
}

// memberWarnings passes a member's warnings on to the caller, naming the member.
type memberWarnings struct{ cluster string }

func (w memberWarnings) HandleWarningHeaderWithContext(ctx context.Context, code int, agent, text string) {
	if code == 299 {
		warning.AddWarning(ctx, "", fmt.Sprintf("cluster %q: %s", w.cluster, text))
	}
}

var _ restclient.WarningHandlerWithContext = memberWarnings{}

// clusters are the clusters a request is for, hub.Local first, narrowed by ?cluster= and
// by selectors on spec.cluster or the kiosk.sh/cluster label; hubMode is false when the
// server has no members and nothing narrows, and REST serves the request alone.
func (h *HubREST) clusters(ctx context.Context, s clusterSelector) (names []string, hubMode bool) {
	members := h.members.Names()
	narrowed, byParam := hub.ClusterFrom(ctx)
	if len(members) == 0 && !byParam && !s.any {
		return nil, false
	}
	for _, c := range append([]string{hub.Local}, members...) {
		if byParam && c != narrowed {
			continue
		}
		if s.matches(c) {
			names = append(names, c)
		}
	}
	return names, true
}

// tag marks a Space as one of cluster's: spec.cluster, the kiosk.sh/cluster label, and the
// member's kube-apiserver address in the kiosk.sh/cluster-server annotation, where its users
// work in the Space; the hub's own Spaces carry none, whatever their namespace says.
func (h *HubREST) tag(cluster string, s *tenancy.Space) {
	s.Spec.Cluster = cluster
	if cluster == hub.Local {
		delete(s.Labels, configv1alpha1.ClusterLabel)
		if len(s.Labels) == 0 {
			s.Labels = nil
		}
		delete(s.Annotations, configv1alpha1.ClusterServerAnnotation)
		if len(s.Annotations) == 0 {
			s.Annotations = nil
		}
		return
	}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.Labels[configv1alpha1.ClusterLabel] = cluster
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[configv1alpha1.ClusterServerAnnotation] = h.members.Server(cluster)
}

func (h *HubREST) fromMember(cluster string, in *tenancyv1alpha1.Space) (*tenancy.Space, error) {
	out := &tenancy.Space{}
	if err := tenancyv1alpha1.Convert_v1alpha1_Space_To_tenancy_Space(in, out, nil); err != nil {
		return nil, err
	}
	h.tag(cluster, out)
	return out, nil
}

// unavailable tells the caller that cluster did not answer.
func unavailable(ctx context.Context, cluster string, err error) {
	warning.AddWarning(ctx, "", fmt.Sprintf("cluster %q is not answering, its Spaces are missing: %v", cluster, err))
}

// answers reports whether err is the member's own answer about the caller, as opposed to
// the member not answering.
func answers(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsUnauthorized(err)
}

// List merges the Spaces the caller sees in every cluster. A member that does not answer
// is left out, with a warning naming it; one where the caller may not list Spaces adds
// none.
func (h *HubREST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	r, hubMode, err := h.request(ctx, options)
	if err != nil {
		return nil, err
	}
	if !hubMode {
		return h.REST.List(ctx, options)
	}
	clusters, u, start, memberOpts := r.clusters, r.user, r.start, r.members
	type answer struct {
		items []tenancy.Space
		rv    string
		err   error
	}
	answers := make([]answer, len(clusters))
	var wg sync.WaitGroup
	for i, c := range clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := &answers[i]
			if c == hub.Local {
				local := options.DeepCopy()
				local.Limit, local.Continue = 0, ""
				local.ResourceVersion = start[hub.Local]
				local.LabelSelector, local.FieldSelector = memberOpts.label, memberOpts.field
				obj, err := h.REST.List(ctx, local)
				if err != nil {
					a.err = err
					return
				}
				l := obj.(*tenancy.SpaceList)
				a.items, a.rv = l.Items, l.ResourceVersion
				return
			}
			a.items, a.rv, a.err = h.listCached(ctx, c, u, options, start[c], memberOpts)
		}()
	}
	wg.Wait()
	list := &tenancy.SpaceList{}
	position := hub.Position{}
	for i, c := range clusters {
		a := answers[i]
		switch {
		case a.err == nil:
			position[c] = a.rv
		case c == hub.Local:
			return nil, a.err
		case apierrors.IsForbidden(a.err):
			// The member says the caller may not list Spaces there: they see none.
			continue
		default:
			unavailable(ctx, c, a.err)
			continue
		}
		for j := range a.items {
			h.tag(c, &a.items[j])
			list.Items = append(list.Items, a.items[j])
		}
	}
	sort.SliceStable(list.Items, func(i, j int) bool {
		if list.Items[i].Name != list.Items[j].Name {
			return list.Items[i].Name < list.Items[j].Name
		}
		return list.Items[i].Spec.Cluster < list.Items[j].Spec.Cluster
	})
	list.ResourceVersion = position.String()
	return list, nil
}

// hubRequest is what a list or watch through the hub is for.
type hubRequest struct {
	clusters []string
	user     user.Info
	start    hub.Position
	members  memberSelectors
}

// request reads a list or watch request: the clusters it is for, the caller, the position
// it starts from and the selectors for each cluster. hubMode is false when REST serves it
// alone.
func (h *HubREST) request(ctx context.Context, options *metainternalversion.ListOptions) (hubRequest, bool, error) {
	sel, memberOpts := splitSelectors(options)
	clusters, hubMode := h.clusters(ctx, sel)
	if !hubMode {
		return hubRequest{}, false, nil
	}
	u, err := userFrom(ctx)
	if err != nil {
		return hubRequest{}, true, err
	}
	start, err := hub.ParsePosition(rvOf(options))
	if err != nil {
		return hubRequest{}, true, apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersion %q: %v", rvOf(options), err))
	}
	return hubRequest{clusters: clusters, user: u, start: start, members: memberOpts}, true, nil
}

func rvOf(options *metainternalversion.ListOptions) string {
	if options == nil {
		return ""
	}
	return options.ResourceVersion
}

// listCached answers a list of cluster from u's view of it when the view is in sync and the
// request is one a view answers exactly: no resourceVersion of its own in the member, no
// continue. Otherwise the member is asked, and its answer starts u's view.
func (h *HubREST) listCached(ctx context.Context, cluster string, u user.Info, options *metainternalversion.ListOptions,
	rv string, m memberSelectors) ([]tenancy.Space, string, error) {
	cacheable := rv == "" && (options == nil || options.Continue == "" && options.ResourceVersionMatch == "")
	version := h.members.Version(cluster)
	if cacheable {
		objs, at, ok := h.views.List(ctx, u, cluster, version, func(o runtime.Object) bool {
			s := o.(*tenancy.Space)
			return m.label.Matches(labels.Set(s.Labels)) && m.field.Matches(Fields(s))
		})
		if ok {
			items := make([]tenancy.Space, len(objs))
			for i, o := range objs {
				items[i] = *o.(*tenancy.Space)
			}
			return items, at, nil
		}
	}
	items, at, err := h.listMember(ctx, cluster, u, m.list(rv))
	if err != nil || !cacheable {
		return items, at, err
	}
	var seed *hub.Seed
	if m.label.Empty() && m.field.Empty() {
		// The member's whole answer: the view starts from it and watches from at.
		seed = &hub.Seed{RV: at, Objects: make([]runtime.Object, len(items))}
		for i := range items {
			seed.Objects[i] = items[i].DeepCopy()
		}
	}
	h.views.Start(u, cluster, version, seed)
	return items, at, nil
}

func (h *HubREST) listMember(ctx context.Context, cluster string, u user.Info, opts metav1.ListOptions) ([]tenancy.Space, string, error) {
	spaces, err := h.memberSpaces(ctx, cluster, u, false)
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	l, err := spaces.List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	items := make([]tenancy.Space, 0, len(l.Items))
	for i := range l.Items {
		s, err := h.fromMember(cluster, &l.Items[i])
		if err != nil {
			return nil, "", err
		}
		items = append(items, *s)
	}
	return items, l.ResourceVersion, nil
}

// Get returns the Space name as the caller sees it: the hub's own first, then each member's
// in name order, or only the one ?cluster= names. Any other name is NotFound.
func (h *HubREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	clusters, hubMode := h.clusters(ctx, clusterSelector{})
	if !hubMode {
		return h.REST.Get(ctx, name, options)
	}
	found, err := h.find(ctx, name, clusters, true)
	if err != nil {
		return nil, err
	}
	return found[0], nil
}

// find returns the Space name in each of clusters where the caller sees it, stopping at the
// first when first is set; none is NotFound.
func (h *HubREST) find(ctx context.Context, name string, clusters []string, first bool) ([]*tenancy.Space, error) {
	u, err := userFrom(ctx)
	if err != nil {
		return nil, err
	}
	var found []*tenancy.Space
	for _, c := range clusters {
		s, err := h.getIn(ctx, c, name, u)
		switch {
		case err == nil:
			found = append(found, s)
			if first {
				return found, nil
			}
		case c == hub.Local && !apierrors.IsNotFound(err):
			return nil, err
		case c == hub.Local || answers(err):
		default:
			unavailable(ctx, c, err)
		}
	}
	if len(found) == 0 {
		return nil, apierrors.NewNotFound(tenancy.Resource("spaces"), name)
	}
	return found, nil
}

func (h *HubREST) getIn(ctx context.Context, cluster, name string, u user.Info) (*tenancy.Space, error) {
	if cluster == hub.Local {
		obj, err := h.REST.Get(ctx, name, &metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		s := obj.(*tenancy.Space)
		h.tag(hub.Local, s)
		return s, nil
	}
	spaces, err := h.memberSpaces(ctx, cluster, u, false)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	s, err := spaces.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return h.fromMember(cluster, s)
}

// ConvertToTable prints Spaces with a Cluster column when the server has members.
func (h *HubREST) ConvertToTable(ctx context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	if len(h.members.Names()) == 0 {
		return h.REST.ConvertToTable(ctx, obj, tableOptions)
	}
	return h.hubCols.ConvertToTable(ctx, obj, tableOptions)
}

var hubColumns = append(append([]metav1.TableColumnDefinition{columns[0]},
	metav1.TableColumnDefinition{Name: "Cluster", Type: "string", Description: "The member cluster the Space lives in; empty for the hub's own."}),
	columns[1:]...)

func hubCells(obj runtime.Object) ([]interface{}, error) {
	c, err := cells(obj)
	if err != nil {
		return nil, err
	}
	return append([]interface{}{c[0], obj.(*tenancy.Space).Spec.Cluster}, c[1:]...), nil
}

func joinQuoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
