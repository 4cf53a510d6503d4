package tenancy

import (
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

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
)

// continueToken is where a paged list goes on: the snapshot revision of its first page, so
// that every page comes from the same snapshot, and the last name sent.
type continueToken struct {
	Revision uint64 `json:"rv"`
	After    string `json:"after"`
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
// continue. everything is set for a caller who sees every object by other means.
func ListPage[T comparable](view *access.View[T], subject access.Subject, everything bool,
	options *metainternalversion.ListOptions, resource schema.GroupResource, matches func(T) bool) (*access.Snapshot[T], Page, error) {
	snap := view.Snapshot()
	after := ""
	if options != nil && options.Continue != "" {
		var token continueToken
		raw, err := base64.RawURLEncoding.DecodeString(options.Continue)
		if err == nil {
			err = json.Unmarshal(raw, &token)
		}
		if err != nil {
			return nil, Page{}, apierrors.NewBadRequest(fmt.Sprintf("invalid continue token: %v", err))
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
			raw, _ := json.Marshal(continueToken{Revision: snap.Revision(), After: page.Names[len(page.Names)-1]})
			page.ListMeta.Continue = base64.RawURLEncoding.EncodeToString(raw)
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
