package apiserver

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

// jsonAndYAML offers every serializer of a codec factory but protobuf. This server's types
// have no protobuf form; a client asking for protobuf first (as kube-controller-manager's
// namespace and garbage collectors do) is then answered in JSON instead of failing.
type jsonAndYAML struct {
	runtime.NegotiatedSerializer
}

// SupportedMediaTypes leaves out protobuf.
func (s jsonAndYAML) SupportedMediaTypes() []runtime.SerializerInfo {
	var out []runtime.SerializerInfo
	for _, info := range s.NegotiatedSerializer.SupportedMediaTypes() {
		if info.MediaType != runtime.ContentTypeProtobuf {
			out = append(out, info)
		}
	}
	return out
}

// NegotiatedSerializer serves this server's API groups.
var NegotiatedSerializer runtime.NegotiatedSerializer = jsonAndYAML{scheme.Codecs}
