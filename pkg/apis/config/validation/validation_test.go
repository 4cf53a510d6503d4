package validation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
)

// wantErr is one expected error: its type and field path.
type wantErr struct {
	typ  field.ErrorType
	path string
}

func check(t *testing.T, errs field.ErrorList, want []wantErr) {
	t.Helper()
	var got []wantErr
	for _, e := range errs {
		got = append(got, wantErr{e.Type, e.Field})
	}
	assert.ElementsMatch(t, want, got, "errors: %v", errs)
}

func validAccount() *config.Account {
	return &config.Account{
		ObjectMeta: metav1.ObjectMeta{Name: "node-account", ResourceVersion: "1"},
		Spec: config.AccountSpec{Subjects: []rbacv1.Subject{
			{Kind: "User", Name: "dev", APIGroup: rbacv1.GroupName},
			{Kind: "Group", Name: "devs", APIGroup: rbacv1.GroupName},
			{Kind: "ServiceAccount", Name: "ci", Namespace: "tools"},
		}},
	}
}

func TestValidateAccount(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*config.Account)
		want   []wantErr
	}{
		{"valid", func(*config.Account) {}, nil},
		{"name not a DNS label", func(a *config.Account) { a.Name = "node.account" }, []wantErr{{field.ErrorTypeInvalid, "metadata.name"}}},
		{"subject without name", func(a *config.Account) { a.Spec.Subjects[0].Name = "" }, []wantErr{{field.ErrorTypeRequired, "spec.subjects[0].name"}}},
		{"user without apiGroup", func(a *config.Account) { a.Spec.Subjects[0].APIGroup = "" }, []wantErr{{field.ErrorTypeNotSupported, "spec.subjects[0].apiGroup"}}},
		{"group with wrong apiGroup", func(a *config.Account) { a.Spec.Subjects[1].APIGroup = "example.com" }, []wantErr{{field.ErrorTypeNotSupported, "spec.subjects[1].apiGroup"}}},
		{"service account with apiGroup", func(a *config.Account) { a.Spec.Subjects[2].APIGroup = rbacv1.GroupName }, []wantErr{{field.ErrorTypeNotSupported, "spec.subjects[2].apiGroup"}}},
		{"service account without namespace", func(a *config.Account) { a.Spec.Subjects[2].Namespace = "" }, []wantErr{{field.ErrorTypeRequired, "spec.subjects[2].namespace"}}},
		{"unknown kind", func(a *config.Account) { a.Spec.Subjects[0].Kind = "Robot" }, []wantErr{{field.ErrorTypeNotSupported, "spec.subjects[0].kind"}}},
		{"negative limit", func(a *config.Account) { a.Spec.Space.Limit = ptr.To[int32](-1) }, []wantErr{{field.ErrorTypeInvalid, "spec.space.limit"}}},
		{"zero limit", func(a *config.Account) { a.Spec.Space.Limit = ptr.To[int32](0) }, nil},
		{"empty clusterRole means none", func(a *config.Account) { a.Spec.Space.ClusterRole = ptr.To("") }, nil},
		{"clusterRole with slash", func(a *config.Account) { a.Spec.Space.ClusterRole = ptr.To("a/b") }, []wantErr{{field.ErrorTypeInvalid, "spec.space.clusterRole"}}},
		{"clusters by name and selector", func(a *config.Account) {
			a.Spec.Clusters = &config.AccountClusters{Names: []string{"eu", "us"},
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"region": "eu"}}}
		}, nil},
		{"empty clusters selector selects all", func(a *config.Account) {
			a.Spec.Clusters = &config.AccountClusters{Selector: &metav1.LabelSelector{}}
		}, nil},
		{"cluster name not a DNS label", func(a *config.Account) {
			a.Spec.Clusters = &config.AccountClusters{Names: []string{"Bad_Name"}}
		}, []wantErr{{field.ErrorTypeInvalid, "spec.clusters.names[0]"}}},
		{"cluster named twice", func(a *config.Account) {
			a.Spec.Clusters = &config.AccountClusters{Names: []string{"eu", "eu"}}
		}, []wantErr{{field.ErrorTypeDuplicate, "spec.clusters.names[1]"}}},
		{"clusters selector with a bad operator", func(a *config.Account) {
			a.Spec.Clusters = &config.AccountClusters{Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "region", Operator: "Near", Values: []string{"eu"}}}}}
		}, []wantErr{{field.ErrorTypeInvalid, "spec.clusters.selector.matchExpressions[0].operator"}}},
		{"account label in spaceTemplate", func(a *config.Account) {
			a.Spec.Space.SpaceTemplate.Labels = map[string]string{AccountLabel: "other"}
		}, []wantErr{{field.ErrorTypeForbidden, "spec.space.spaceTemplate.metadata.labels[kiosk.sh/account]"}}},
		{"bad spaceTemplate label", func(a *config.Account) {
			a.Spec.Space.SpaceTemplate.Labels = map[string]string{"team": "not valid!"}
		}, []wantErr{{field.ErrorTypeInvalid, "spec.space.spaceTemplate.metadata.labels"}}},
		{"bad spaceTemplate annotation", func(a *config.Account) {
			a.Spec.Space.SpaceTemplate.Annotations = map[string]string{"bad key!": "x"}
		}, []wantErr{{field.ErrorTypeInvalid, "spec.space.spaceTemplate.metadata.annotations"}}},
		{"mandatory template without name", func(a *config.Account) {
			a.Spec.Space.TemplateInstances = []config.AccountTemplateInstanceTemplate{{}}
		}, []wantErr{{field.ErrorTypeRequired, "spec.space.templateInstances[0].spec.template"}}},
		{"mandatory template twice", func(a *config.Account) {
			ti := config.AccountTemplateInstanceTemplate{Spec: config.TemplateInstanceSpec{Template: "space-template"}}
			a.Spec.Space.TemplateInstances = []config.AccountTemplateInstanceTemplate{ti, ti}
		}, []wantErr{{field.ErrorTypeDuplicate, "spec.space.templateInstances[1].metadata.name"}}},
		{"full isolation", func(a *config.Account) {
			a.Spec.Isolation = config.AccountIsolation{
				PodSecurity: &config.AccountPodSecurity{Enforce: config.PodSecurityRestricted, Warn: config.PodSecurityRestricted, Version: "v1.30"},
				Nodes: &config.AccountNodeIsolation{
					NodeSelector: map[string]string{"node-restriction.kubernetes.io/tenant": "a"},
					Tolerations:  []corev1.Toleration{{Key: "tenant", Operator: corev1.TolerationOpEqual, Value: "a", Effect: corev1.TaintEffectNoSchedule}},
				},
				PriorityClasses:  &config.AccountPriorityClasses{Allowed: []string{"tenant-low"}, Default: "tenant-low"},
				AlwaysPullImages: true,
				Network:          config.AccountNetworkIsolation{Mode: config.NetworkIsolationAccount},
			}
		}, nil},
		{"pod security without enforce", func(a *config.Account) {
			a.Spec.Isolation.PodSecurity = &config.AccountPodSecurity{Warn: config.PodSecurityBaseline}
		}, []wantErr{{field.ErrorTypeRequired, "spec.isolation.podSecurity.enforce"}}},
		{"unknown pod security levels", func(a *config.Account) {
			a.Spec.Isolation.PodSecurity = &config.AccountPodSecurity{Enforce: "strict", Audit: "Restricted", Version: "1.30"}
		}, []wantErr{
			{field.ErrorTypeNotSupported, "spec.isolation.podSecurity.enforce"},
			{field.ErrorTypeNotSupported, "spec.isolation.podSecurity.audit"},
			{field.ErrorTypeInvalid, "spec.isolation.podSecurity.version"},
		}},
		{"pod security label in spaceTemplate too", func(a *config.Account) {
			a.Spec.Isolation.PodSecurity = &config.AccountPodSecurity{Enforce: config.PodSecurityBaseline}
			a.Spec.Space.SpaceTemplate.Labels = map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}
		}, []wantErr{{field.ErrorTypeForbidden, "spec.space.spaceTemplate.metadata.labels[pod-security.kubernetes.io/enforce]"}}},
		{"bad node selector and tolerations", func(a *config.Account) {
			a.Spec.Isolation.Nodes = &config.AccountNodeIsolation{
				NodeSelector: map[string]string{"tenant": "not valid!"},
				Tolerations: []corev1.Toleration{
					{Operator: corev1.TolerationOpEqual, Value: "a"},
					{Key: "k", Operator: corev1.TolerationOpExists, Value: "v"},
					{Key: "k", Operator: "In", Effect: "Sometimes"},
					{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr.To[int64](5)},
				},
			}
		}, []wantErr{
			{field.ErrorTypeInvalid, "spec.isolation.nodes.nodeSelector"},
			{field.ErrorTypeInvalid, "spec.isolation.nodes.tolerations[0].operator"},
			{field.ErrorTypeInvalid, "spec.isolation.nodes.tolerations[1].value"},
			{field.ErrorTypeNotSupported, "spec.isolation.nodes.tolerations[2].operator"},
			{field.ErrorTypeNotSupported, "spec.isolation.nodes.tolerations[2].effect"},
			{field.ErrorTypeInvalid, "spec.isolation.nodes.tolerations[3].effect"},
		}},
		{"priority class default not allowed", func(a *config.Account) {
			a.Spec.Isolation.PriorityClasses = &config.AccountPriorityClasses{Allowed: []string{"low", "low", "Bad_Name"}, Default: "high"}
		}, []wantErr{
			{field.ErrorTypeDuplicate, "spec.isolation.priorityClasses.allowed[1]"},
			{field.ErrorTypeInvalid, "spec.isolation.priorityClasses.allowed[2]"},
			{field.ErrorTypeInvalid, "spec.isolation.priorityClasses.default"},
		}},
		{"unknown network mode", func(a *config.Account) {
			a.Spec.Isolation.Network.Mode = "Cluster"
		}, []wantErr{{field.ErrorTypeNotSupported, "spec.isolation.network.mode"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validAccount()
			tt.mutate(a)
			check(t, ValidateAccount(a), tt.want)
		})
	}
}

func TestValidateAccountStatusUpdate(t *testing.T) {
	a := validAccount()
	a.Status.Namespaces = []config.AccountNamespaceStatus{{Name: "a"}, {Name: "a"}, {Name: "Bad_Name"}}
	check(t, ValidateAccountStatusUpdate(a, validAccount()), []wantErr{
		{field.ErrorTypeDuplicate, "status.namespaces[1].name"},
		{field.ErrorTypeInvalid, "status.namespaces[2].name"},
	})
}

func validQuota() *config.AccountQuota {
	return &config.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "default-user-limits", ResourceVersion: "1"},
		Spec: config.AccountQuotaSpec{Account: "node-account", Quota: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			"pods": resource.MustParse("2"), "limits.cpu": resource.MustParse("4"),
			"count/deployments.apps": resource.MustParse("3"), "requests.nvidia.com/gpu": resource.MustParse("1"),
			"gold.storageclass.storage.k8s.io/requests.storage": resource.MustParse("10Gi"),
		}}},
	}
}

func TestValidateAccountQuota(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*config.AccountQuota)
		want   []wantErr
	}{
		{"valid", func(*config.AccountQuota) {}, nil},
		{"no account", func(q *config.AccountQuota) { q.Spec.Account = "" }, []wantErr{{field.ErrorTypeRequired, "spec.account"}}},
		{"bad account name", func(q *config.AccountQuota) { q.Spec.Account = "Node" }, []wantErr{{field.ErrorTypeInvalid, "spec.account"}}},
		{"unknown resource", func(q *config.AccountQuota) { q.Spec.Quota.Hard["bananas"] = resource.MustParse("1") },
			[]wantErr{{field.ErrorTypeInvalid, "spec.quota.hard[bananas]"}}},
		{"negative quantity", func(q *config.AccountQuota) { q.Spec.Quota.Hard["pods"] = resource.MustParse("-1") },
			[]wantErr{{field.ErrorTypeInvalid, "spec.quota.hard[pods]"}}},
		{"fractional count", func(q *config.AccountQuota) { q.Spec.Quota.Hard["pods"] = resource.MustParse("1500m") },
			[]wantErr{{field.ErrorTypeInvalid, "spec.quota.hard[pods]"}}},
		{"unknown scope", func(q *config.AccountQuota) { q.Spec.Quota.Scopes = []corev1.ResourceQuotaScope{"Sometimes"} },
			[]wantErr{{field.ErrorTypeNotSupported, "spec.quota.scopes[0]"}}},
		{"conflicting scopes", func(q *config.AccountQuota) {
			q.Spec.Quota.Hard = corev1.ResourceList{"pods": resource.MustParse("1")}
			q.Spec.Quota.Scopes = []corev1.ResourceQuotaScope{"Terminating", "NotTerminating"}
		}, []wantErr{{field.ErrorTypeInvalid, "spec.quota.scopes"}}},
		{"scope does not cover resource", func(q *config.AccountQuota) {
			q.Spec.Quota.Hard = corev1.ResourceList{"services": resource.MustParse("1")}
			q.Spec.Quota.Scopes = []corev1.ResourceQuotaScope{"BestEffort"}
		}, []wantErr{{field.ErrorTypeInvalid, "spec.quota.hard[services]"}}},
		{"In without values", func(q *config.AccountQuota) {
			q.Spec.Quota.Hard = corev1.ResourceList{"pods": resource.MustParse("1")}
			q.Spec.Quota.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
				{ScopeName: "PriorityClass", Operator: "In"}}}
		}, []wantErr{{field.ErrorTypeRequired, "spec.quota.scopeSelector.matchExpressions[0].values"}}},
		{"Exists with values", func(q *config.AccountQuota) {
			q.Spec.Quota.Hard = corev1.ResourceList{"pods": resource.MustParse("1")}
			q.Spec.Quota.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
				{ScopeName: "PriorityClass", Operator: "Exists", Values: []string{"high"}}}}
		}, []wantErr{{field.ErrorTypeInvalid, "spec.quota.scopeSelector.matchExpressions[0].values"}}},
		{"In on a scope without values", func(q *config.AccountQuota) {
			q.Spec.Quota.Hard = corev1.ResourceList{"pods": resource.MustParse("1")}
			q.Spec.Quota.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
				{ScopeName: "BestEffort", Operator: "In", Values: []string{"x"}}}}
		}, []wantErr{{field.ErrorTypeInvalid, "spec.quota.scopeSelector.matchExpressions[0].operator"}}},
		{"unknown operator", func(q *config.AccountQuota) {
			q.Spec.Quota.Hard = corev1.ResourceList{"pods": resource.MustParse("1")}
			q.Spec.Quota.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
				{ScopeName: "PriorityClass", Operator: "Near"}}}
		}, []wantErr{{field.ErrorTypeNotSupported, "spec.quota.scopeSelector.matchExpressions[0].operator"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := validQuota()
			tt.mutate(q)
			check(t, ValidateAccountQuota(q), tt.want)
		})
	}
}

func TestAccountQuotaAccountIsImmutable(t *testing.T) {
	q := validQuota()
	q.Spec.Account = "redis-account"
	check(t, ValidateAccountQuotaUpdate(q, validQuota()), []wantErr{{field.ErrorTypeInvalid, "spec.account"}})
}

func TestValidateAccountQuotaStatusUpdate(t *testing.T) {
	q := validQuota()
	q.Status.Total.Used = corev1.ResourceList{"pods": resource.MustParse("-1")}
	q.Status.Namespaces = []config.AccountQuotaStatusByNamespace{{Namespace: "Not_A_Namespace"}}
	check(t, ValidateAccountQuotaStatusUpdate(q, validQuota()), []wantErr{
		{field.ErrorTypeInvalid, "status.total.used[pods]"},
		{field.ErrorTypeInvalid, "status.namespaces[0].namespace"},
	})
}

func manifest(s string) runtime.RawExtension { return runtime.RawExtension{Raw: []byte(s)} }

func validTemplate() *config.Template {
	return &config.Template{
		ObjectMeta: metav1.ObjectMeta{Name: "space-template", ResourceVersion: "1"},
		Resources: config.TemplateResources{Manifests: []runtime.RawExtension{
			manifest(`{"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"limits"},"spec":{"limits":[{"type":"${TYPE}"}]}}`),
			manifest(`"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n"`),
		}},
		Parameters: []config.TemplateParameter{
			{Name: "TYPE", Value: "Container", Validation: "^(Container|Pod)$"},
			{Name: "OWNER", Required: true},
		},
	}
}

func TestValidateTemplate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*config.Template)
		want   []wantErr
	}{
		{"valid", func(*config.Template) {}, nil},
		{"parameter without name", func(t *config.Template) { t.Parameters[0].Name = "" }, []wantErr{{field.ErrorTypeRequired, "parameters[0].name"}}},
		{"parameter name with dash", func(t *config.Template) { t.Parameters[0].Name = "MY-TYPE" }, []wantErr{{field.ErrorTypeInvalid, "parameters[0].name"}}},
		{"duplicate parameter", func(t *config.Template) { t.Parameters[1].Name = "TYPE" }, []wantErr{{field.ErrorTypeDuplicate, "parameters[1].name"}}},
		{"bad regexp", func(t *config.Template) { t.Parameters[0].Validation = "([" }, []wantErr{{field.ErrorTypeInvalid, "parameters[0].validation"}}},
		{"default fails its validation", func(t *config.Template) { t.Parameters[0].Value = "Node" }, []wantErr{{field.ErrorTypeInvalid, "parameters[0].value"}}},
		{"required with default", func(t *config.Template) { t.Parameters[1].Value = "x" }, []wantErr{{field.ErrorTypeInvalid, "parameters[1].value"}}},
		{"manifest without kind", func(t *config.Template) {
			t.Resources.Manifests[0] = manifest(`{"apiVersion":"v1","metadata":{"name":"x"}}`)
		}, []wantErr{{field.ErrorTypeRequired, "resources.manifests[0].kind"}}},
		{"manifest without name", func(t *config.Template) {
			t.Resources.Manifests[0] = manifest(`{"apiVersion":"v1","kind":"ConfigMap"}`)
		}, []wantErr{{field.ErrorTypeRequired, "resources.manifests[0].metadata.name"}}},
		{"manifest not an object", func(t *config.Template) { t.Resources.Manifests[0] = manifest(`[1,2]`) },
			[]wantErr{{field.ErrorTypeInvalid, "resources.manifests[0]"}}},
		{"manifest document without apiVersion", func(t *config.Template) {
			t.Resources.Manifests[1] = manifest(`"kind: ConfigMap\nmetadata:\n  name: a\n"`)
		}, []wantErr{{field.ErrorTypeRequired, "resources.manifests[1].apiVersion"}}},
		{"helm without chart", func(t *config.Template) { t.Resources.Helm = &config.HelmConfiguration{} },
			[]wantErr{{field.ErrorTypeRequired, "resources.helm.chart.repository"}}},
		{"helm without repoUrl", func(t *config.Template) {
			t.Resources.Helm = &config.HelmConfiguration{Chart: config.HelmChart{Repository: &config.HelmChartRepository{Name: "redis"}}}
		}, []wantErr{{field.ErrorTypeRequired, "resources.helm.chart.repository.repoUrl"}}},
		{"helm oci needs no repoUrl", func(t *config.Template) {
			t.Resources.Helm = &config.HelmConfiguration{Chart: config.HelmChart{Repository: &config.HelmChartRepository{Name: "oci://registry.local/charts/redis"}}}
		}, nil},
		{"helm secret ref incomplete", func(t *config.Template) {
			t.Resources.Helm = &config.HelmConfiguration{Chart: config.HelmChart{Repository: &config.HelmChartRepository{
				Name: "redis", RepoURL: "http://127.0.0.1:8879", Password: &config.HelmSecretRef{Name: "creds"}}}}
		}, []wantErr{
			{field.ErrorTypeRequired, "resources.helm.chart.repository.password.namespace"},
			{field.ErrorTypeRequired, "resources.helm.chart.repository.password.key"},
		}},
		{"helm setValue without name", func(t *config.Template) {
			t.Resources.Helm = &config.HelmConfiguration{
				Chart:     config.HelmChart{Repository: &config.HelmChartRepository{Name: "redis", RepoURL: "http://127.0.0.1:8879"}},
				SetValues: []config.HelmSetValue{{Value: "x"}},
			}
		}, []wantErr{{field.ErrorTypeRequired, "resources.helm.setValues[0].name"}}},
		{"helm values not a map", func(t *config.Template) {
			t.Resources.Helm = &config.HelmConfiguration{
				Chart:  config.HelmChart{Repository: &config.HelmChartRepository{Name: "redis", RepoURL: "http://127.0.0.1:8879"}},
				Values: "- a\n- b\n",
			}
		}, []wantErr{{field.ErrorTypeInvalid, "resources.helm.values"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := validTemplate()
			tt.mutate(tmpl)
			check(t, ValidateTemplate(tmpl), tt.want)
			check(t, ValidateTemplateUpdate(tmpl, validTemplate()), tt.want)
		})
	}
}

func validInstance() *config.TemplateInstance {
	return &config.TemplateInstance{
		ObjectMeta: metav1.ObjectMeta{Name: "limits", Namespace: "node-space", ResourceVersion: "1"},
		Spec: config.TemplateInstanceSpec{Template: "space-template", Parameters: []config.TemplateInstanceParameter{
			{Name: "OWNER", Value: "dev"},
		}},
	}
}

func TestValidateTemplateInstance(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*config.TemplateInstance)
		want   []wantErr
	}{
		{"valid", func(*config.TemplateInstance) {}, nil},
		{"no template", func(ti *config.TemplateInstance) { ti.Spec.Template = "" }, []wantErr{{field.ErrorTypeRequired, "spec.template"}}},
		{"bad template name", func(ti *config.TemplateInstance) { ti.Spec.Template = "Space Template" }, []wantErr{{field.ErrorTypeInvalid, "spec.template"}}},
		{"parameter without name", func(ti *config.TemplateInstance) { ti.Spec.Parameters[0].Name = "" },
			[]wantErr{{field.ErrorTypeRequired, "spec.parameters[0].name"}}},
		{"parameter twice", func(ti *config.TemplateInstance) {
			ti.Spec.Parameters = append(ti.Spec.Parameters, ti.Spec.Parameters[0])
		}, []wantErr{{field.ErrorTypeDuplicate, "spec.parameters[1].name"}}},
		{"no namespace", func(ti *config.TemplateInstance) { ti.Namespace = "" }, []wantErr{{field.ErrorTypeRequired, "metadata.namespace"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ti := validInstance()
			tt.mutate(ti)
			check(t, ValidateTemplateInstance(ti), tt.want)
		})
	}
}

func TestTemplateInstanceTemplateIsImmutable(t *testing.T) {
	ti := validInstance()
	ti.Spec.Template = "other"
	check(t, ValidateTemplateInstanceUpdate(ti, validInstance()), []wantErr{{field.ErrorTypeInvalid, "spec.template"}})
}

func TestValidateTemplateInstanceStatusUpdate(t *testing.T) {
	ti := validInstance()
	ti.Status.Status = "Exploded"
	check(t, ValidateTemplateInstanceStatusUpdate(ti, validInstance()), []wantErr{{field.ErrorTypeNotSupported, "status.status"}})
}
