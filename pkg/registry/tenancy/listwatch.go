package tenancy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/storage"
	utilflowcontrol "k8s.io/apiserver/pkg/util/flowcontrol"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
)

// continueToken is where a paged list goes on, and nothing else: the snapshot revision of
// its first page, so that every page shows the objects as they were then, and the last name
// sent. It carries no decision about who may see what: every page is filtered by the
// caller's grants at the time of that page, so a token kept, replayed or edited never shows
// more than the caller may list now.
type continueToken struct {
	Revision uint64 `json:"rv"`
	After    string `json:"after"`
}

func (t continueToken) encode() string {
	raw, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// decodeContinue reads a continue token. Anything this server did not write is refused
// with BadRequest: the token is not base64url, not a JSON object of exactly rv and after,
// or has trailing data.
func decodeContinue(s string, resource schema.GroupResource) (continueToken, error) {
	var token continueToken
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err = dec.Decode(&token); err == nil && dec.More() {
			err = errors.New("trailing data after the token")
		}
	}
	if err == nil && token.Revision == 0 {
		err = errors.New("no resourceVersion (rv)")
	}
	if err != nil {
		return continueToken{}, apierrors.NewBadRequest(fmt.Sprintf("invalid continue token for %s: %v", resource, err))
	}
	return token, nil
}

// Selectors are the label and field selectors of a list or watch, Everything when unset.
type Selectors struct {
	Label labels.Selector
	Field fields.Selector
}

// SelectorsOf returns the selectors of options.
func SelectorsOf(options *metainternalversion.ListOptions) Selectors {
	s := Selectors{Label: labels.Everything(), Field: fields.Everything()}
	if options != nil && options.LabelSelector != nil {
		s.Label = options.LabelSelector
	}
	if options != nil && options.FieldSelector != nil {
		s.Field = options.FieldSelector
	}
	return s
}

// Matches reports whether an object with these labels and fields is selected.
func (s Selectors) Matches(l labels.Set, f fields.Set) bool {
	return s.Label.Matches(l) && s.Field.Matches(f)
}

// Page is one page of a list: the names to return, sorted, and the list metadata.
type Page struct {
	Names    []string
	ListMeta metav1.ListMeta
}

// ListPage picks from a view the names the subject sees that match, honouring limit and
// continue. everything is set for a caller who sees every object by other means, as decided
// for this request. A continued list shows the objects of its first page's snapshot, and
// only those that the subject's grants cover both in that snapshot and now.
func ListPage[T comparable](view *access.View[T], subject access.Subject, everything bool,
	options *metainternalversion.ListOptions, resource schema.GroupResource, matches func(T) bool) (*access.Snapshot[T], Page, error) {
	now := view.Snapshot()
	snap, after := now, ""
	if options != nil && options.Continue != "" {
		token, err := decodeContinue(options.Continue, resource)
		if err != nil {
			return nil, Page{}, err
		}
		if token.Revision > now.Revision() {
			return nil, Page{}, apierrors.NewResourceExpired(fmt.Sprintf(
				"the continue token for %s names resourceVersion %d, which this server has not reached (it is at %d); list again without it",
				resource, token.Revision, now.Revision()))
		}
		if snap = view.SnapshotAt(token.Revision); snap == nil {
			return nil, Page{}, apierrors.NewResourceExpired(fmt.Sprintf(
				"the continue token for %s is too old; list again without it", resource))
		}
		after = token.After
	}
	var limit int64
	if options != nil {
		limit = options.Limit
	}
	all := snap.Names(subject, everything)
	if snap != now && !everything {
		all = now.Granted(subject, all)
	}
	start := sort.SearchStrings(all, after)
	if start < len(all) && all[start] == after {
		start++
	}
	page := Page{ListMeta: metav1.ListMeta{ResourceVersion: strconv.FormatUint(snap.Revision(), 10)}}
	for i := start; i < len(all); i++ {
		obj, _ := snap.Get(all[i])
		if !matches(obj) {
			continue
		}
		if limit > 0 && int64(len(page.Names)) == limit {
			page.ListMeta.Continue = continueToken{Revision: snap.Revision(), After: page.Names[len(page.Names)-1]}.encode()
			break
		}
		page.Names = append(page.Names, all[i])
	}
	return snap, page, nil
}

// WatchOptionsOf turns the options of a watch request into where and how the watch starts,
// with the semantics of kube-apiserver: no resourceVersion or "0" starts with the current
// state as ADDED events, any other starts after that revision.
func WatchOptionsOf[T comparable](options *metainternalversion.ListOptions, resource schema.GroupResource) (access.WatchOptions[T], error) {
	var opts access.WatchOptions[T]
	rv := ""
	if options != nil {
		rv = options.ResourceVersion
		opts.Bookmarks = options.AllowWatchBookmarks
	}
	if rv != "" && rv != "0" {
		n, err := strconv.ParseUint(rv, 10, 64)
		if err != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("invalid resourceVersion %q for %s: %v", rv, resource, err))
		}
		opts.Revision = n
	} else {
		opts.SendInitial = true
	}
	if options != nil && options.SendInitialEvents != nil {
		opts.SendInitial = *options.SendInitialEvents
		opts.InitialEventsEnd = opts.SendInitial && options.AllowWatchBookmarks
	}
	return opts, nil
}

// DecideEverything sets whether a watch sees every object by other means, as decide says
// for the caller now, and has the watch ask decide again whenever cluster-wide RBAC
// changes, so that a revoked cluster-wide grant ends in DELETED events, not in a watch that
// goes on seeing everything.
func DecideEverything[T comparable](ctx context.Context, opts *access.WatchOptions[T], decide func(context.Context) (bool, error)) error {
	everything, err := decide(ctx)
	if err != nil {
		return err
	}
	opts.Everything, opts.Recheck = everything, decide
	return nil
}

// WatchStarted tells API priority and fairness that a watch is set up, as kube-apiserver's
// own storage does once a watch is initialized: from then on the watch holds no seat of its
// priority level. Without it every open watch holds a seat until it ends, so a few dozen
// open watches take the whole level (global-default for tenants), and every later request
// of that level, lists and watches of other users included, waits and is refused with 429.
func WatchStarted(ctx context.Context) { utilflowcontrol.WatchInitialized(ctx) }

// WatchError turns an access index error into the API error a client expects.
func WatchError(err error, rv uint64, current uint64) error {
	switch {
	case errors.Is(err, access.ErrRevisionGone):
		return apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%v)", rv, err))
	case errors.Is(err, access.ErrRevisionTooLarge):
		return storage.NewTooLargeResourceVersionError(rv, current, 1)
	}
	return err
}

// Bookmark returns a function that makes bookmark objects with newObject.
func Bookmark(newObject func() runtime.Object) func(uint64, bool) runtime.Object {
	return func(rev uint64, initialEventsEnd bool) runtime.Object {
		obj := newObject()
		m := obj.(metav1.Object)
		m.SetResourceVersion(strconv.FormatUint(rev, 10))
		if initialEventsEnd {
			m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
		}
		return obj
	}
}
