// Package space holds the admission plugins of tenancy.kiosk.sh Spaces, run by the
// server's generic admission chain before a Space's namespace is written, and the one of
// the Accounts that Spaces are checked against:
//
//   - SpaceAccount: a Space names an Account its creator belongs to, and never moves to
//     another; only admins touch kiosk.sh/ labels and annotations.
//   - SpaceLimit: a new Space is refused early when its Account has no place left under
//     spec.space.limit; the Space storage takes the place, with a compare-and-swap
//     reservation that holds across replicas.
//   - AccountSubjects: an Account names no service accounts of another Account's Space, the
//     other side of the rule that keeps a Space from taking the namespace of another
//     Account's service-account subjects.
//
// All get what they need through the Tenancy initializer.
package space
