//go:build tools

// Package kuberouter records kube-router, which hack/build-node.sh builds for the local node.
// The node runs it with --run-firewall only: it enforces NetworkPolicy with iptables and ipset.
package kuberouter

import (
	_ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
)
