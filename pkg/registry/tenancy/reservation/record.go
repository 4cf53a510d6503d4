package reservation

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// recordVersion is the group and version of a stored Record. It is known only to the
// ledger's own storage codec: the API never serves it.
var recordVersion = schema.GroupVersion{Group: "internal.tenancy.kiosk.sh", Version: "v1"}

// legacyVersion and legacyKind name the records of earlier versions of the server, which
// stored each Account's places as the annotations of an Account object.
var legacyVersion = schema.GroupVersion{Group: "config.kiosk.sh", Version: "v1alpha1"}

const legacyKind = "Account"

// Record is one Account's places: the names of its reserved Spaces and when each was
// reserved. It is stored under the Account's name.
type Record struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spaces maps each reserved Space to the time its place was taken.
	Spaces map[string]metav1.MicroTime `json:"spaces,omitempty"`
}

// RecordList is a list of Records; the storage needs one, the ledger never lists.
type RecordList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []Record `json:"items"`
}

// legacyRecord is the part of an earlier server's Account-shaped record the ledger reads:
// its annotations, Space name to RFC 3339 time.
type legacyRecord struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
}

// DeepCopyObject implements runtime.Object.
func (r *Record) DeepCopyObject() runtime.Object { return r.DeepCopy() }

// DeepCopy returns a copy of r.
func (r *Record) DeepCopy() *Record {
	if r == nil {
		return nil
	}
	out := &Record{TypeMeta: r.TypeMeta}
	r.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	if r.Spaces != nil {
		out.Spaces = make(map[string]metav1.MicroTime, len(r.Spaces))
		for k, v := range r.Spaces {
			out.Spaces[k] = *v.DeepCopy()
		}
	}
	return out
}

// DeepCopyObject implements runtime.Object.
func (l *RecordList) DeepCopyObject() runtime.Object {
	if l == nil {
		return nil
	}
	out := &RecordList{TypeMeta: l.TypeMeta}
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	for i := range l.Items {
		out.Items = append(out.Items, *l.Items[i].DeepCopy())
	}
	return out
}

// DeepCopyObject implements runtime.Object.
func (r *legacyRecord) DeepCopyObject() runtime.Object {
	out := &legacyRecord{TypeMeta: r.TypeMeta}
	r.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	return out
}

// codec stores Records as JSON, and decodes both Records and the Account-shaped records of
// earlier servers into Records. An earlier server cannot decode a Record: during a rolling
// upgrade its Space creates under a limit fail rather than miscount.
var codec = newCodec()

func newCodec() runtime.Codec {
	s := runtime.NewScheme()
	s.AddKnownTypes(recordVersion, &Record{}, &RecordList{})
	s.AddKnownTypeWithName(legacyVersion.WithKind(legacyKind), &legacyRecord{})
	if err := s.AddConversionFunc((*legacyRecord)(nil), (*Record)(nil), convertLegacy); err != nil {
		panic(err) // the two types are fixed above
	}
	codecs := serializer.NewCodecFactory(s)
	info, _ := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	return codecs.CodecForVersions(info.Serializer, info.Serializer, recordVersion, recordVersion)
}

// convertLegacy reads an earlier server's record. A time that does not parse becomes the
// zero time, so that its place expires unless its namespace exists, as before.
func convertLegacy(in, out any, _ conversion.Scope) error {
	legacy, rec := in.(*legacyRecord), out.(*Record)
	*rec = Record{ObjectMeta: *legacy.ObjectMeta.DeepCopy()}
	rec.Annotations = nil
	if len(legacy.Annotations) > 0 {
		rec.Spaces = make(map[string]metav1.MicroTime, len(legacy.Annotations))
	}
	for name, at := range legacy.Annotations {
		t, _ := time.Parse(time.RFC3339Nano, at)
		rec.Spaces[name] = metav1.NewMicroTime(t)
	}
	return nil
}
