package access

import (
	"iter"
	"slices"
)

// Snapshot is a view's state at one revision. It never changes, so any number of readers
// may use it at once without locks while writers build the next one.
type Snapshot[T comparable] struct {
	rev     uint64
	objects pmap[T]
	// grants maps a subject key to the names it may see one by one.
	grants pmap[pset]
	// everything holds the subject keys that may see every object.
	everything pset
}

// Revision is the revision the snapshot was published at.
func (s *Snapshot[T]) Revision() uint64 { return s.rev }

// Len is the number of objects in the view.
func (s *Snapshot[T]) Len() int { return s.objects.len() }

// Get returns the object called name, whoever may see it.
func (s *Snapshot[T]) Get(name string) (T, bool) { return s.objects.get(name) }

// Visible reports whether the subject may see the object called name. It is false for an
// object that does not exist.
func (s *Snapshot[T]) Visible(subject Subject, name string) bool {
	return s.objects.has(name) && s.sees(subject.keys(), name)
}

// SeesEverything reports whether RBAC lets the subject see every object of the view.
func (s *Snapshot[T]) SeesEverything(subject Subject) bool {
	return s.seesEverything(subject.keys())
}

func (s *Snapshot[T]) seesEverything(keys []string) bool {
	for _, k := range keys {
		if s.everything.has(k) {
			return true
		}
	}
	return false
}

func (s *Snapshot[T]) sees(keys []string, name string) bool {
	if s.seesEverything(keys) {
		return true
	}
	for _, k := range keys {
		if names, ok := s.grants.get(k); ok && names.has(name) {
			return true
		}
	}
	return false
}

// Names returns, sorted, the names of the objects the subject may see. With everything set
// it returns all names, for callers that may see everything by other means. It costs
// O(v log v) for v visible objects, however many objects the view holds.
func (s *Snapshot[T]) Names(subject Subject, everything bool) []string {
	keys := subject.keys()
	if everything || s.seesEverything(keys) {
		names := make([]string, 0, s.objects.len())
		for name := range s.objects.all() {
			names = append(names, name)
		}
		if len(names) == 0 {
			return nil
		}
		slices.Sort(names)
		return names
	}
	var names []string
	for _, k := range keys {
		granted, ok := s.grants.get(k)
		if !ok {
			continue
		}
		for name := range granted.all() {
			if s.objects.has(name) {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Granted returns, in their order, the names that the subject's grants in this snapshot
// cover, whether or not an object of that name exists. It costs O(len(names)).
func (s *Snapshot[T]) Granted(subject Subject, names []string) []string {
	keys := subject.keys()
	if s.seesEverything(keys) {
		return names
	}
	out := make([]string, 0, len(names))
	for _, name := range names {
		if s.sees(keys, name) {
			out = append(out, name)
		}
	}
	return out
}

// All yields every object with its name, in no particular order.
func (s *Snapshot[T]) All() iter.Seq2[string, T] { return s.objects.all() }
