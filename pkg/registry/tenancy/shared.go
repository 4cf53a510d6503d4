package tenancy

import (
	"bytes"
	"io"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// SharedEvents makes the object of a watch event once for every watcher that sends it. One
// change seen by many watchers (a Space every admin dashboard watches, a binding that grants
// many users) is converted once, and encoded once per encoding however many watchers send
// it: the generic server's watch encoder asks a runtime.CacheableObject to encode itself,
// and a SharedObject keeps what it encoded, as kube-apiserver's watch cache does for its own
// objects.
//
// Objects are kept by the object they are made from and the revision they are sent at, so
// convert must depend on nothing else (not on the watcher). The last sharedKept of them are
// kept, in two generations.
type SharedEvents[T comparable] struct {
	mu       sync.Mutex
	cur, old map[sharedKey[T]]runtime.Object
}

type sharedKey[T comparable] struct {
	obj T
	rev uint64
}

const sharedKept = 256

// Object returns the object for obj at rev, made with convert the first time it is asked
// for. An object convert returns that is a *metav1.Status (an error to send) is not shared.
func (s *SharedEvents[T]) Object(obj T, rev uint64, convert func(T, uint64) runtime.Object) runtime.Object {
	k := sharedKey[T]{obj, rev}
	s.mu.Lock()
	o, ok := s.cur[k]
	if !ok {
		if o, ok = s.old[k]; ok {
			s.keepLocked(k, o)
		}
	}
	s.mu.Unlock()
	if ok {
		return o
	}
	made := convert(obj, rev)
	if _, failed := made.(*metav1.Status); failed {
		return made
	}
	o = &SharedObject{object: made}
	s.mu.Lock()
	defer s.mu.Unlock()
	if first, ok := s.cur[k]; ok {
		return first
	}
	s.keepLocked(k, o)
	return o
}

func (s *SharedEvents[T]) keepLocked(k sharedKey[T], o runtime.Object) {
	if s.cur == nil || len(s.cur) >= sharedKept {
		s.old, s.cur = s.cur, make(map[sharedKey[T]]runtime.Object, sharedKept)
	}
	s.cur[k] = o
}

// SharedObject is an object sent to many watchers, which keeps each encoding of it.
type SharedObject struct {
	mu      sync.Mutex
	object  runtime.Object
	encoded map[runtime.Identifier][]byte
}

var (
	_ runtime.CacheableObject = &SharedObject{}
	_ schema.ObjectKind       = &SharedObject{}
)

// CacheEncode writes the encoding id of the object to w, encoding it the first time.
// Encodings are made one at a time: an encoder may set the object's kind while it works.
func (o *SharedObject) CacheEncode(id runtime.Identifier, encode func(runtime.Object, io.Writer) error, w io.Writer) error {
	o.mu.Lock()
	b, ok := o.encoded[id]
	if !ok {
		var buf bytes.Buffer
		if err := encode(o.object, &buf); err != nil {
			o.mu.Unlock()
			return err
		}
		b = buf.Bytes()
		if o.encoded == nil {
			o.encoded = map[runtime.Identifier][]byte{}
		}
		o.encoded[id] = b
	}
	o.mu.Unlock()
	_, err := w.Write(b)
	return err
}

// GetObject returns a copy of the object, the caller's to change.
func (o *SharedObject) GetObject() runtime.Object {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.object.DeepCopyObject()
}

// GetObjectKind returns the object's kind, guarded as the encodings are.
func (o *SharedObject) GetObjectKind() schema.ObjectKind { return o }

// GroupVersionKind returns the object's kind.
func (o *SharedObject) GroupVersionKind() schema.GroupVersionKind {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.object.GetObjectKind().GroupVersionKind()
}

// SetGroupVersionKind sets the object's kind and forgets its encodings.
func (o *SharedObject) SetGroupVersionKind(gvk schema.GroupVersionKind) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.object.GetObjectKind().SetGroupVersionKind(gvk)
	o.encoded = nil
}

// DeepCopyObject returns a SharedObject of a copy of the object, with no encodings yet.
func (o *SharedObject) DeepCopyObject() runtime.Object {
	return &SharedObject{object: o.GetObject()}
}

// Unshared returns obj, or a copy of the object a SharedObject holds: for the server's own
// readers of a watch, which look at the objects' fields or change them.
func Unshared(obj runtime.Object) runtime.Object {
	if co, ok := obj.(runtime.CacheableObject); ok {
		return co.GetObject()
	}
	return obj
}
