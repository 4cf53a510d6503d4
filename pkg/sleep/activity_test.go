package sleep

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestActivityCounts(t *testing.T) {
	self := func(user string) bool { return user == "system:serviceaccount:tenancy-system:tenancy-apiserver" }
	write := func(user string, groups ...string) Request {
		return Request{User: user, Groups: groups, Verb: "CREATE", Group: "", Resource: "configmaps"}
	}
	for _, tc := range []struct {
		name string
		req  Request
		want bool
	}{
		{"a tenant's create", write("alice", "system:authenticated"), true},
		{"a tenant's update", Request{User: "alice", Verb: "UPDATE", Group: "apps", Resource: "deployments"}, true},
		{"a tenant's scale", Request{User: "alice", Verb: "UPDATE", Group: "apps", Resource: "deployments", Subresource: "scale"}, true},
		{"a tenant's delete", Request{User: "alice", Verb: "DELETE", Resource: "pods"}, true},
		{"exec", Request{User: "alice", Verb: "CONNECT", Resource: "pods", Subresource: "exec"}, true},
		{"attach", Request{User: "alice", Verb: "CONNECT", Resource: "pods", Subresource: "attach"}, true},
		{"port-forward", Request{User: "alice", Verb: "CONNECT", Resource: "pods", Subresource: "portforward"}, true},
		{"a service account of the Space (a CI job)", write("system:serviceaccount:team:deployer"), true},
		{"an admin", write("admin", "system:masters"), true},
		{"a read from the audit log", Request{User: "alice", Verb: "get", Resource: "pods"}, true},
		{"dry run", Request{User: "alice", Verb: "CREATE", Resource: "configmaps", DryRun: true}, false},
		{"this server", write("system:serviceaccount:tenancy-system:tenancy-apiserver"), false},
		{"kube-apiserver", write("system:apiserver", "system:masters"), false},
		{"the controller manager", write("system:kube-controller-manager"), false},
		{"a controller's service account", write("system:serviceaccount:kube-system:replicaset-controller"), false},
		{"the scheduler", Request{User: "system:kube-scheduler", Verb: "CREATE", Resource: "pods", Subresource: "binding"}, false},
		{"a kubelet", Request{User: "system:node:n1", Groups: []string{"system:nodes"}, Verb: "UPDATE", Resource: "pods", Subresource: "status"}, false},
		{"a node by group", write("node-agent", "system:nodes"), false},
		{"an event", Request{User: "alice", Verb: "CREATE", Resource: "events"}, false},
		{"an events.k8s.io event", Request{User: "alice", Verb: "CREATE", Group: "events.k8s.io", Resource: "events"}, false},
		{"a lease", Request{User: "system:serviceaccount:team:operator", Verb: "UPDATE", Group: "coordination.k8s.io", Resource: "leases"}, false},
		{"a status write", Request{User: "system:serviceaccount:team:operator", Verb: "UPDATE", Group: "example.com", Resource: "widgets", Subresource: "status"}, false},
		{"no user", Request{Verb: "CREATE", Resource: "configmaps"}, false},
		{"an unknown verb", Request{User: "alice", Verb: "escalate", Resource: "roles"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Counts(tc.req, self))
		})
	}
}
