package space

import (
	"errors"
	"fmt"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Use is what UseSpace wrote.
type Use struct {
	// Context is the name of the context that now has the Space as its namespace.
	Context string
	// Created is true when the context is new.
	Created bool
	// Space is the namespace the context now has.
	Space string
	// Cluster, Server and User are set for a Space of a hub's member: the member, its
	// kube-apiserver, and the kubeconfig's user entry the context signs in with.
	Cluster, Server, User string
}

// UseSpace points a context of cfg at space's namespace. Without newContext, that context is
// context, or the current context when context is "". With newContext, it is a copy of that
// context named newContext (replacing any context of that name, in the same kubeconfig file
// as the context copied), and it becomes the current context.
func UseSpace(cfg *clientcmdapi.Config, context, newContext, space string) (Use, error) {
	from := context
	if from == "" {
		from = cfg.CurrentContext
	}
	if from == "" {
		return Use{}, errors.New("the kubeconfig has no current context: choose the context to use with --context")
	}
	c, ok := cfg.Contexts[from]
	if !ok || c == nil {
		return Use{}, fmt.Errorf("context %q is not in the kubeconfig", from)
	}
	if newContext == "" {
		c.Namespace = space
		return Use{Context: from, Space: space}, nil
	}
	_, exists := cfg.Contexts[newContext]
	copied := c.DeepCopy()
	copied.Namespace = space
	cfg.Contexts[newContext] = copied
	cfg.CurrentContext = newContext
	return Use{Context: newContext, Created: !exists, Space: space}, nil
}

// String is what the use command prints.
func (u Use) String() string {
	if u.Cluster != "" {
		return fmt.Sprintf("Context %q written for Space %q of cluster %q at %s; it is the current context.\n"+
			"It signs in there with your own credentials, the kubeconfig's user %q, which that cluster must accept; "+
			"no credentials of the hub are used.", u.Context, u.Space, u.Cluster, u.Server, u.User)
	}
	if u.Created {
		return fmt.Sprintf("Context %q created for Space %q; it is the current context.", u.Context, u.Space)
	}
	return fmt.Sprintf("Context %q now uses Space %q.", u.Context, u.Space)
}

// Member is where a Space of a hub's member cluster is used: the member's name and its
// kube-apiserver's address, as the hub lists them on the Space.
type Member struct {
	Cluster string
	Server  string
	// CertificateAuthority is the file of the member's CA, or "" for the system's roots.
	CertificateAuthority string
	// User names the kubeconfig's user entry with the tenant's own credentials for the
	// member; "" means the user of the context copied.
	User string
}

// UseMemberSpace writes a context newContext for space in member m: a cluster entry of the
// same name with m's address, the tenant's own user entry, and the Space as namespace; it
// becomes the current context. The context copied (context, or the current one) gives the
// user when m names none. No credentials are written: the context signs in with a user entry
// the kubeconfig holds already.
func UseMemberSpace(cfg *clientcmdapi.Config, context, newContext, space string, m Member) (Use, error) {
	if newContext == "" {
		return Use{}, fmt.Errorf("Space %q is in cluster %q: give --context-name, the name of a new context for it", space, m.Cluster)
	}
	if m.Server == "" {
		return Use{}, fmt.Errorf("the hub gives no address for cluster %q of Space %q", m.Cluster, space)
	}
	from := context
	if from == "" {
		from = cfg.CurrentContext
	}
	user := m.User
	if user == "" {
		c, ok := cfg.Contexts[from]
		if !ok || c == nil {
			return Use{}, errors.New("choose the user entry with your credentials for the member with --user")
		}
		user = c.AuthInfo
	}
	if _, ok := cfg.AuthInfos[user]; !ok {
		return Use{}, fmt.Errorf("user %q is not in the kubeconfig", user)
	}
	_, exists := cfg.Contexts[newContext]
	cfg.Clusters[newContext] = &clientcmdapi.Cluster{Server: m.Server, CertificateAuthority: m.CertificateAuthority}
	cfg.Contexts[newContext] = &clientcmdapi.Context{Cluster: newContext, AuthInfo: user, Namespace: space}
	cfg.CurrentContext = newContext
	return Use{Context: newContext, Created: !exists, Space: space, Cluster: m.Cluster, Server: m.Server, User: user}, nil
}
