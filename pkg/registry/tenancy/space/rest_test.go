package space

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access/accesstest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	tenancyregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy"
)

var everySpace = []string{"team-a-dev", "team-a-prod", "team-b-dev"}

// Each user lists, gets and watches exactly the Spaces their RoleBindings grant, or all of
// them when they see everything, through the index or through kube-apiserver.
func TestReadsShowWhatTheUserMayGet(t *testing.T) {
	c := newCluster(t, seesAllSpaces)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want []string
	}{
		{"bound to the Spaces of an Account", alice, []string{"team-a-dev", "team-a-prod"}},
		{"bound through a group", bob, []string{"team-b-dev"}},
		{"bound nowhere", eve, nil},
		{"may list namespaces cluster-wide", auditor, everySpace},
		{"bound cluster-wide", root, everySpace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.rest.List(tc.ctx, &metainternalversion.ListOptions{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, names(out.(*tenancy.SpaceList).Items), "List")
			for _, name := range everySpace {
				got, err := c.rest.Get(tc.ctx, name, &metav1.GetOptions{})
				if !slices.Contains(tc.want, name) {
					assert.True(t, apierrors.IsNotFound(err), "Get %s: want NotFound, got %v", name, err)
					continue
				}
				require.NoError(t, err, "Get %s", name)
				s := got.(*tenancy.Space)
				assert.Equal(t, name, s.Name)
				assert.NotContains(t, s.Labels, "kiosk.sh/account", "the Account label becomes spec.account")
				assert.NotEmpty(t, s.Spec.Account)
			}
			assert.Equal(t, tc.want, initialWatch(t, c, tc.ctx, nil), "Watch")
		})
	}
	_, err := c.rest.Get(root, "nowhere", &metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "a Space that does not exist: %v", err)
	_, err = c.rest.List(context.Background(), &metainternalversion.ListOptions{})
	assert.True(t, apierrors.IsUnauthorized(err), "a request without a user: %v", err)
}

// Label and field selectors narrow what the user sees, never widen it.
func TestSelectors(t *testing.T) {
	c := newCluster(t, seesAllSpaces)
	for _, tc := range []struct {
		name         string
		ctx          context.Context
		label, field string
		want         []string
	}{
		{"label", alice, "env=dev", "", []string{"team-a-dev"}},
		{"label, everything", auditor, "env=dev", "", []string{"team-a-dev", "team-b-dev"}},
		{"spec.account", root, "", "spec.account=team-b", []string{"team-b-dev"}},
		{"spec.account of Spaces not granted", alice, "", "spec.account=team-b", nil},
		{"metadata.name", alice, "", "metadata.name=team-a-prod", []string{"team-a-prod"}},
		{"both", auditor, "env=dev", "spec.account=team-a", []string{"team-a-dev"}},
		{"the Account label is spec.account, not a label", root, "kiosk.sh/account=team-a", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			label, err := labels.Parse(tc.label)
			require.NoError(t, err)
			field, err := fields.ParseSelector(tc.field)
			require.NoError(t, err)
			options := &metainternalversion.ListOptions{LabelSelector: label, FieldSelector: field}
			out, err := c.rest.List(tc.ctx, options)
			require.NoError(t, err)
			assert.Equal(t, tc.want, names(out.(*tenancy.SpaceList).Items), "List")
			assert.Equal(t, tc.want, initialWatch(t, c, tc.ctx, options), "Watch")
		})
	}
}

// A watch shows a Space when access to it is granted and takes it away when access is
// revoked; other users' watches hear of neither.
func TestWatchFollowsGrants(t *testing.T) {
	c := newCluster(t, seesAllSpaces)
	rv := c.index.Spaces().Snapshot().Revision()
	start := func(ctx context.Context) watch.Interface {
		w, err := c.rest.Watch(ctx, &metainternalversion.ListOptions{ResourceVersion: formatRV(rv)})
		require.NoError(t, err)
		t.Cleanup(w.Stop)
		return w
	}
	aliceWatch, eveWatch := start(alice), start(eve)
	c.addSpace(t, "team-a-test", teamA, nil, "admin", accesstest.User("alice"))
	next(t, aliceWatch, watch.Added, "team-a-test")
	c.index.DeleteRoleBinding("team-a-test", "access", c.rv.Next())
	next(t, aliceWatch, watch.Deleted, "team-a-test")
	// eve's first event is the first Space she is granted, not alice's.
	c.addSpace(t, "eve-only", teamB, nil, "view", accesstest.User("eve"))
	next(t, eveWatch, watch.Added, "eve-only")
}

// One event sent to several watchers is one object, encoded once per encoding for all of
// them; the hub's own reader of the local watch gets objects of its own, which it changes.
func TestWatchersShareEachEvent(t *testing.T) {
	c := newCluster(t, seesAllSpaces)
	rv := formatRV(c.index.Spaces().Snapshot().Revision())
	start := func(ctx context.Context, shared bool) watch.Interface {
		w, err := c.rest.watch(ctx, &metainternalversion.ListOptions{ResourceVersion: rv}, shared)
		require.NoError(t, err)
		t.Cleanup(w.Stop)
		return w
	}
	first, second, own := start(alice, true), start(eve, true), start(alice, false)
	c.addSpace(t, "team-a-test", teamA, nil, "admin", accesstest.User("alice"), accesstest.User("eve"))
	objects := map[string]runtime.Object{}
	for name, w := range map[string]watch.Interface{"first": first, "second": second, "own": own} {
		e := receive(t, w)
		require.Equal(t, watch.Added, e.Type, name)
		objects[name] = e.Object
	}
	require.IsType(t, &tenancyregistry.SharedObject{}, objects["first"])
	assert.Same(t, objects["first"], objects["second"], "both watchers send the same object")
	assert.IsType(t, &tenancy.Space{}, objects["own"], "a watch that is not shared sends its own object")

	encodes := 0
	encode := func(obj runtime.Object, w io.Writer) error {
		encodes++
		_, err := io.WriteString(w, obj.(*tenancy.Space).Name+"@"+obj.(*tenancy.Space).ResourceVersion)
		return err
	}
	var out [2]bytes.Buffer
	for i, name := range []string{"first", "second"} {
		require.NoError(t, objects[name].(runtime.CacheableObject).CacheEncode("json", encode, &out[i]))
	}
	assert.Equal(t, 1, encodes, "encoded once for both watchers")
	assert.Equal(t, out[0].String(), out[1].String())
	assert.Contains(t, out[0].String(), "team-a-test@")
}

// initialWatch returns the Spaces a watch from now shows before its initial-events bookmark.
func initialWatch(t *testing.T, c *cluster, ctx context.Context, options *metainternalversion.ListOptions) []string {
	t.Helper()
	opts := metainternalversion.ListOptions{}
	if options != nil {
		opts = *options
	}
	initial := true
	opts.SendInitialEvents, opts.AllowWatchBookmarks = &initial, true
	w, err := c.rest.Watch(ctx, &opts)
	require.NoError(t, err)
	defer w.Stop()
	var got []string
	for {
		e := receive(t, w)
		if e.Type == watch.Bookmark {
			if e.Object.(*tenancy.Space).Annotations[metav1.InitialEventsAnnotationKey] == "true" {
				return got
			}
			continue
		}
		require.Equal(t, watch.Added, e.Type, "initial events are ADDED")
		got = append(got, tenancyregistry.Unshared(e.Object).(*tenancy.Space).Name)
	}
}

func next(t *testing.T, w watch.Interface, typ watch.EventType, name string) {
	t.Helper()
	for {
		e := receive(t, w)
		if e.Type == watch.Bookmark {
			continue
		}
		assert.Equal(t, typ, e.Type)
		assert.Equal(t, name, tenancyregistry.Unshared(e.Object).(*tenancy.Space).Name)
		return
	}
}

func receive(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case e, ok := <-w.ResultChan():
		require.True(t, ok, "the watch ended")
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
		return watch.Event{}
	}
}

func names(items []tenancy.Space) []string {
	var out []string
	for _, s := range items {
		out = append(out, s.Name)
	}
	return out
}

func formatRV(rv uint64) string { return strconv.FormatUint(rv, 10) }
