package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// BenchmarkSpaceCreateWithMandatoryTemplates measures `create space` through kube-apiserver
// for an Account with two mandatory templates: the call returns once both are deployed.
// Run it with: make bench-e2e (go test -run '^$' -bench SpaceCreate -benchtime 20x ./test/e2e/).
func BenchmarkSpaceCreateWithMandatoryTemplates(b *testing.B) {
	admin := cluster.Admin()
	account := framework.UniqueName("bench")
	templates := []string{account + "-limits", account + "-quota"}
	admin.Apply(b, strings.ReplaceAll(templateDefinitionYAML, "space-template", templates[0])).Success(b)
	admin.Apply(b, `apiVersion: config.kiosk.sh/v1alpha1
kind: Template
metadata:
  name: `+templates[1]+`
resources:
  manifests:
  - apiVersion: v1
    kind: ResourceQuota
    metadata:
      name: quota
    spec:
      hard:
        pods: "20"
`).Success(b)
	admin.Apply(b, `apiVersion: config.kiosk.sh/v1alpha1
kind: Account
metadata:
  name: `+account+`
spec:
  space:
    templateInstances:
    - spec:
        template: `+templates[0]+`
    - spec:
        template: `+templates[1]+`
`).Success(b)
	spaces := cluster.AdminClients(b).Kiosk.TenancyV1alpha1().Spaces()
	var names []string
	b.Cleanup(func() {
		for _, n := range names {
			admin.Run(b, "delete", "namespace", n, "--wait=false")
		}
		admin.Run(b, "delete", "accounts.config.kiosk.sh", account)
		admin.Run(b, "delete", "templates", templates[0], templates[1])
	})
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("%s-%d", account, i)
		names = append(names, name)
		start := time.Now()
		_, err := spaces.Create(context.Background(), &tenancyv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: tenancyv1alpha1.SpaceSpec{Account: account}}, metav1.CreateOptions{})
		samples = append(samples, time.Since(start))
		require.NoError(b, err)
	}
	b.StopTimer()
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Milliseconds()), "median-ms")
	b.ReportMetric(float64(samples[len(samples)*9/10].Milliseconds()), "p90-ms")
}
