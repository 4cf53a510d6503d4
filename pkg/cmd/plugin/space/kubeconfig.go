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
	if u.Created {
		return fmt.Sprintf("Context %q created for Space %q; it is the current context.", u.Context, u.Space)
	}
	return fmt.Sprintf("Context %q now uses Space %q.", u.Context, u.Space)
}
