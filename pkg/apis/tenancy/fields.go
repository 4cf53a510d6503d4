package tenancy

import "k8s.io/apimachinery/pkg/fields"

// SpaceFields are the fields a Space can be selected by, besides metadata.name.
func SpaceFields(s *Space) fields.Set {
	return fields.Set{
		"spec.account": s.Spec.Account,
		"status.phase": string(s.Status.Phase),
		"spec.cluster": s.Spec.Cluster,
	}
}
