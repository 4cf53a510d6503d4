package templateinstance

import (
	"context"
	"encoding/json"

	authenticationv1 "k8s.io/api/authentication/v1"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/resource"
)

// requester records who set an instance's spec, at create and at every change of the spec
// after: the controller applies the roles and bindings of its Template only if that user
// could create them, so nobody edits the parameters of an instance someone else created to
// borrow that user's permissions.
var requester = resource.ServerAnnotation{
	Key:     configv1alpha1.RequesterAnnotation,
	Value:   Requester,
	PerSpec: true,
	Detail:  "set by the server to the user who creates the template instance or changes its spec",
}

// Requester returns the annotation value that records the user of ctx: the JSON of an
// authentication.k8s.io/v1 UserInfo, or "" without a user.
func Requester(ctx context.Context) string {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok || u == nil {
		return ""
	}
	info := authenticationv1.UserInfo{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups()}
	if extra := u.GetExtra(); len(extra) > 0 {
		info.Extra = make(map[string]authenticationv1.ExtraValue, len(extra))
		for k, v := range extra {
			info.Extra[k] = v
		}
	}
	b, err := json.Marshal(info)
	if err != nil {
		return ""
	}
	return string(b)
}
