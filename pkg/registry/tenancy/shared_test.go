package tenancy

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
)

type source struct{ name string }

func TestSharedEvents(t *testing.T) {
	var events SharedEvents[*source]
	made := 0
	convert := func(s *source, rev uint64) runtime.Object {
		made++
		sp := &tenancy.Space{}
		sp.Name = s.name
		return sp
	}
	a, b := &source{"a"}, &source{"b"}
	first := events.Object(a, 1, convert)
	assert.Same(t, first, events.Object(a, 1, convert), "the same object at the same revision is made once")
	assert.NotSame(t, first, events.Object(a, 2, convert), "another revision is another object")
	assert.NotSame(t, first, events.Object(b, 1, convert), "another object is another object")
	assert.Equal(t, 3, made)

	failed := func(*source, uint64) runtime.Object { return &metav1.Status{Status: metav1.StatusFailure} }
	assert.IsType(t, &metav1.Status{}, events.Object(a, 3, failed), "an error is sent as it is")
	assert.IsType(t, &metav1.Status{}, events.Object(a, 3, failed), "and never kept")

	// Only the last ones are kept.
	for i := range 2 * sharedKept {
		events.Object(&source{"x"}, uint64(100+i), convert)
	}
	made = 0
	events.Object(a, 1, convert)
	assert.Equal(t, 1, made, "made again once forgotten")
}

func TestSharedObject(t *testing.T) {
	sp := &tenancy.Space{}
	sp.Name = "a"
	o := &SharedObject{object: sp}
	encodes := 0
	encode := func(obj runtime.Object, w io.Writer) error {
		encodes++
		_, err := io.WriteString(w, obj.(*tenancy.Space).Name+"/"+obj.GetObjectKind().GroupVersionKind().Kind)
		return err
	}
	var json, json2, yaml bytes.Buffer
	require.NoError(t, o.CacheEncode("json", encode, &json))
	require.NoError(t, o.CacheEncode("json", encode, &json2))
	require.NoError(t, o.CacheEncode("yaml", encode, &yaml))
	assert.Equal(t, 2, encodes, "once per encoding")
	assert.Equal(t, "a/", json.String())
	assert.Equal(t, json.String(), json2.String())

	own := o.GetObject().(*tenancy.Space)
	own.Name = "changed"
	assert.Equal(t, "a", Unshared(o).(*tenancy.Space).Name, "a copy is the caller's to change")

	o.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{Kind: "Space"})
	var again bytes.Buffer
	require.NoError(t, o.CacheEncode("json", encode, &again))
	assert.Equal(t, "a/Space", again.String(), "a new kind forgets the encodings")
	assert.Equal(t, "Space", o.GroupVersionKind().Kind)
	assert.IsType(t, &SharedObject{}, o.DeepCopyObject())
}
