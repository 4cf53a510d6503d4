// Package space holds the admission plugins of tenancy.kiosk.sh Spaces, run by the
// server's generic admission chain before a Space's namespace is written:
//
//   - SpaceAccount: a Space names an Account its creator belongs to, and never moves to
//     another; only admins touch kiosk.sh/ labels and annotations.
//   - SpaceLimit: a new Space takes a place under its Account's spec.space.limit, with a
//     compare-and-swap reservation that holds across replicas.
//
// Both get what they need through the Tenancy initializer.
package space
