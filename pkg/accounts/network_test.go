package accounts

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

func TestDesiredNetworkPolicy(t *testing.T) {
	const dns = `{"ports":[{"protocol":"UDP","port":53},{"protocol":"TCP","port":53}],` +
		`"to":[{"podSelector":{"matchLabels":{"k8s-app":"kube-dns"}},"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"kube-system"}}}]}`
	for _, tc := range []struct {
		mode configv1alpha1.NetworkIsolationMode
		peer string // "" for no policy
	}{
		{mode: ""},
		{mode: configv1alpha1.NetworkIsolationNone},
		{mode: configv1alpha1.NetworkIsolationAccount, peer: `{"namespaceSelector":{"matchLabels":{"kiosk.sh/account":"acme"}}}`},
		{mode: configv1alpha1.NetworkIsolationSpace, peer: `{"podSelector":{}}`},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			a := &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}
			a.Spec.Isolation.Network.Mode = tc.mode
			np := DesiredNetworkPolicy(a, "s1")
			if tc.peer == "" {
				assert.Nil(t, np)
				return
			}
			require.NotNil(t, np)
			assert.Equal(t, metav1.ObjectMeta{Name: "kiosk-isolation", Namespace: "s1",
				Labels: map[string]string{"kiosk.sh/account": "acme", "tenancy.kiosk.sh/protected": "true"}}, np.ObjectMeta)
			spec, err := json.Marshal(np.Spec)
			require.NoError(t, err)
			assert.JSONEq(t, `{"podSelector":{},"policyTypes":["Ingress","Egress"],"ingress":[{"from":[`+tc.peer+`]}],`+
				`"egress":[{"to":[`+tc.peer+`]},`+dns+`]}`, string(spec))
		})
	}
}
