package v1alpha1

// IsolationKeysAnnotation on a Space's namespace lists, comma-separated, the labels and
// annotations that the server set there from its Account's spec.isolation, each as
// "labels/<key>" or "annotations/<key>". The server removes a key it set once the Account no
// longer sets it, and leaves alone the keys someone else set.
const IsolationKeysAnnotation = "account.config.kiosk.sh/isolation-keys"

// ProtectedLabel marks what the server placed in a Space for its Account: the RoleBinding of
// the Account's subjects, the objects of mandatory TemplateInstances and the isolation
// NetworkPolicy. Only admins (who may write such objects cluster-wide) and the server write or
// delete objects that carry it, or give it to an object.
const ProtectedLabel = "tenancy.kiosk.sh/protected"
