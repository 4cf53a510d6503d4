package e2e

// accountYAML is a config.kiosk.sh Account with one User subject. space, when not empty, is
// the YAML of its spec.space, each line indented by four spaces.
func accountYAML(name, user, space string) string {
	s := "apiVersion: config.kiosk.sh/v1alpha1\nkind: Account\nmetadata:\n  name: " + name + "\nspec:\n"
	if space != "" {
		s += "  space:\n" + space
	}
	return s + "  subjects:\n  - kind: User\n    name: " + user + "\n    apiGroup: rbac.authorization.k8s.io\n"
}
