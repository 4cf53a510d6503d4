package apis_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	serializerjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/validation"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

// strictDecoder decodes YAML as the server decodes a request with fieldValidation=Strict.
var strictDecoder = serializerjson.NewSerializerWithOptions(serializerjson.DefaultMetaFactory,
	scheme.Scheme, scheme.Scheme, serializerjson.SerializerOptions{Yaml: true, Strict: true})

func decodeInternal(t *testing.T, file string) runtime.Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	require.NoError(t, err)
	versioned, gvk, err := strictDecoder.Decode(data, nil, nil)
	require.NoError(t, err, "decoding %s", file)
	internal, err := scheme.Scheme.ConvertToVersion(versioned, runtime.InternalGroupVersioner)
	require.NoError(t, err, "converting %s (%s)", file, gvk)
	return internal
}

func TestWalkthroughConfigManifestsDecodeAndValidate(t *testing.T) {
	tests := []struct {
		file     string
		validate func(runtime.Object) field.ErrorList
		check    func(t *testing.T, obj runtime.Object)
	}{
		{"node-quota.yml", func(o runtime.Object) field.ErrorList {
			return validation.ValidateAccountQuota(o.(*config.AccountQuota))
		},
			func(t *testing.T, o runtime.Object) {
				q := o.(*config.AccountQuota)
				assert.Equal(t, "node-account", q.Spec.Account)
				assert.Equal(t, "2", q.Spec.Quota.Hard.Pods().String())
			}},
		{"template-definition.yml", func(o runtime.Object) field.ErrorList { return validation.ValidateTemplate(o.(*config.Template)) },
			func(t *testing.T, o runtime.Object) {
				tmpl := o.(*config.Template)
				require.Len(t, tmpl.Resources.Manifests, 1)
				assert.JSONEq(t, `{"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"container-limit-range"},
					"spec":{"limits":[{"default":{"cpu":1},"defaultRequest":{"cpu":0.5},"type":"Container"}]}}`,
					string(tmpl.Resources.Manifests[0].Raw))
			}},
		{"node-account-limit.yml", func(o runtime.Object) field.ErrorList { return validation.ValidateAccount(o.(*config.Account)) },
			func(t *testing.T, o runtime.Object) {
				assert.EqualValues(t, 2, *o.(*config.Account).Spec.Space.Limit)
			}},
		{"redis-account-templates.yml", func(o runtime.Object) field.ErrorList { return validation.ValidateAccount(o.(*config.Account)) },
			func(t *testing.T, o runtime.Object) {
				a := o.(*config.Account)
				require.Len(t, a.Spec.Space.TemplateInstances, 1)
				assert.Equal(t, "space-template", a.Spec.Space.TemplateInstances[0].Spec.Template)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			obj := decodeInternal(t, tt.file)
			assert.Empty(t, tt.validate(obj))
			tt.check(t, obj)
		})
	}
}

func TestWalkthroughTenancyManifestsDecode(t *testing.T) {
	a := decodeInternal(t, "node-account.yml").(*tenancy.Account)
	require.Len(t, a.Spec.Subjects, 1)
	assert.Equal(t, "dev", a.Spec.Subjects[0].Name)
	s := decodeInternal(t, "node-space.yml").(*tenancy.Space)
	assert.Equal(t, "node-account", s.Spec.Account)
}

func TestStrictDecodingNamesTheUnknownField(t *testing.T) {
	_, _, err := strictDecoder.Decode([]byte(`apiVersion: config.kiosk.sh/v1alpha1
kind: AccountQuota
metadata:
  name: q
spec:
  acount: node-account
`), nil, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown field "spec.acount"`)
}

// A kiosk Account, which selects no member clusters, is written back exactly as it was read:
// the hub's spec.clusters and status.clusters are absent, not empty.
func TestKioskAccountWithoutClustersIsUnchanged(t *testing.T) {
	a := decodeInternal(t, "redis-account-templates.yml").(*config.Account)
	assert.Nil(t, a.Spec.Clusters)
	versioned, err := scheme.Scheme.ConvertToVersion(a, configv1alpha1.SchemeGroupVersion)
	require.NoError(t, err)
	out, err := json.Marshal(versioned)
	require.NoError(t, err)
	assert.NotContains(t, string(out), `"clusters"`)
}
