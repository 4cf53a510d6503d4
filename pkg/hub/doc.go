// Package hub lets one tenancy-apiserver, the hub, serve the Spaces of its member clusters:
// it reaches each member's tenancy-apiserver with the hub's credentials while impersonating
// the caller, so that the member's own RBAC decides what the caller sees, and merges the
// answers. A merged watch records a position per member in one opaque resourceVersion.
package hub
