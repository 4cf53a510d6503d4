package hub

import (
	"context"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
)

// ClusterParameter is the query parameter that narrows a request for Spaces to one member
// cluster: GET /apis/tenancy.kiosk.sh/v1alpha1/spaces?cluster=<name>.
const ClusterParameter = "cluster"

type clusterKey struct{}

// WithCluster returns ctx narrowed to cluster.
func WithCluster(ctx context.Context, cluster string) context.Context {
	return context.WithValue(ctx, clusterKey{}, cluster)
}

// ClusterFrom returns the cluster a request is narrowed to, if any.
func ClusterFrom(ctx context.Context) (string, bool) {
	c, ok := ctx.Value(clusterKey{}).(string)
	return c, ok
}

// WithClusterParameter passes the cluster query parameter of requests for tenancy.kiosk.sh
// Spaces to the storage through the request's context. A parameter that is not a cluster
// name answers 400 naming it.
func WithClusterParameter(h http.Handler, s runtime.NegotiatedSerializer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/apis/tenancy.kiosk.sh/") || !strings.Contains(r.URL.Path, "/spaces") {
			h.ServeHTTP(w, r)
			return
		}
		values, ok := r.URL.Query()[ClusterParameter]
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		if len(values) != 1 || values[0] == "" {
			fail(w, r, s, apierrors.NewBadRequest("query parameter "+ClusterParameter+" must be given once, with the name of a cluster"))
			return
		}
		if msgs := apivalidation.NameIsDNSLabel(values[0], false); len(msgs) > 0 {
			fail(w, r, s, apierrors.NewBadRequest("query parameter "+ClusterParameter+"="+quote(values[0])+" is not a cluster name: "+strings.Join(msgs, "; ")))
			return
		}
		h.ServeHTTP(w, r.WithContext(WithCluster(r.Context(), values[0])))
	})
}

func fail(w http.ResponseWriter, r *http.Request, s runtime.NegotiatedSerializer, err error) {
	responsewriters.ErrorNegotiated(err, s, schema.GroupVersion{Group: "tenancy.kiosk.sh", Version: "v1alpha1"}, w, r)
}
