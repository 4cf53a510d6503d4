// Package fuzzer fills config.kiosk.sh and tenancy.kiosk.sh objects with random values that
// survive a round trip: manifests are JSON objects, as they are on the wire.
package fuzzer

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/randfill"
)

// Funcs returns the fuzzer functions of both API groups.
var Funcs = func(_ runtimeserializer.CodecFactory) []interface{} {
	return []interface{}{
		func(r *runtime.RawExtension, c randfill.Continue) {
			// Marshalled as the serializer writes JSON, so the bytes survive a round trip.
			raw, err := json.Marshal(map[string]interface{}{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]interface{}{"name": fmt.Sprintf("cm-%d", c.Uint32())},
				"data":     map[string]interface{}{"k": c.String(20)},
			})
			if err != nil {
				panic(err)
			}
			r.Object, r.Raw = nil, raw
		},
	}
}
