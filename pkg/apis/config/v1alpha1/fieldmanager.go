package v1alpha1

// FieldManager names this server in the managed fields of the objects it writes: namespaces,
// RoleBindings and the status of its own resources. The objects of a TemplateInstance are
// applied with a manager of the instance's own: this name, a slash, and what tells the
// instance apart.
const FieldManager = "tenancy-apiserver"
