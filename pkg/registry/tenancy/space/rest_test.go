package space

import (
	"context"
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
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access/accesstest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
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
		got = append(got, e.Object.(*tenancy.Space).Name)
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
		assert.Equal(t, name, e.Object.(*tenancy.Space).Name)
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
