package mandatory

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
)

// admins may update the Account named "a".
type fakeAuthorizer struct{ admins map[string]bool }

func (f fakeAuthorizer) Authorize(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if a.GetVerb() == "update" && a.GetAPIGroup() == config.GroupName && a.GetResource() == "accounts" &&
		a.GetName() == "a" && f.admins[a.GetUser().GetName()] {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

func instance(mandatory bool, mutate ...func(*config.TemplateInstance)) *config.TemplateInstance {
	ti := &config.TemplateInstance{
		ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns", Labels: map[string]string{"kiosk.sh/account": "a"}},
		Spec: config.TemplateInstanceSpec{Template: "quota", Sync: true,
			Parameters: []config.TemplateInstanceParameter{{Name: "cpu", Value: "2"}}},
	}
	if mandatory {
		ti.Annotations = map[string]string{Annotation: "true"}
	}
	for _, m := range mutate {
		m(ti)
	}
	return ti
}

func TestValidate(t *testing.T) {
	tenant := &user.DefaultInfo{Name: "tenant"}
	admin := &user.DefaultInfo{Name: "admin"}
	server := &user.DefaultInfo{Name: user.APIServerUser}
	terminating := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}
	active := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	for _, tc := range []struct {
		name        string
		op          admission.Operation
		subresource string
		obj, old    *config.TemplateInstance
		user        user.Info
		namespace   *corev1.Namespace
		collection  bool   // a deletecollection, whose attributes name no object
		want        string // "" allows
	}{
		{name: "tenant deletes mandatory", op: admission.Delete, old: instance(true), user: tenant, namespace: active,
			want: `templateinstances.config.kiosk.sh "x" is forbidden: mandatory template instance of account "a" is deleted by the account only`},
		{name: "tenant deletes the collection", op: admission.Delete, old: instance(true), user: tenant, namespace: active, collection: true,
			want: `templateinstances.config.kiosk.sh "x" is forbidden: mandatory template instance of account "a" is deleted by the account only`},
		{name: "tenant deletes mandatory in terminating namespace", op: admission.Delete, old: instance(true), user: tenant, namespace: terminating},
		{name: "tenant deletes mandatory in namespace being deleted", op: admission.Delete, old: instance(true), user: tenant,
			namespace: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", DeletionTimestamp: &metav1.Time{}}}},
		{name: "tenant deletes ordinary", op: admission.Delete, old: instance(false), user: tenant, namespace: active},
		{name: "admin deletes mandatory", op: admission.Delete, old: instance(true), user: admin, namespace: active},
		{name: "server deletes mandatory", op: admission.Delete, old: instance(true), user: server, namespace: active},
		{name: "tenant changes parameters", op: admission.Update, user: tenant, old: instance(true),
			obj:  instance(true, func(ti *config.TemplateInstance) { ti.Spec.Parameters[0].Value = "200" }),
			want: `templateinstances.config.kiosk.sh "x" is forbidden: spec.parameters: mandatory template instance of account "a" is set by the account only`},
		{name: "tenant changes sync", op: admission.Update, user: tenant, old: instance(true),
			obj:  instance(true, func(ti *config.TemplateInstance) { ti.Spec.Sync = false }),
			want: `spec.sync: mandatory template instance of account "a" is set by the account only`},
		{name: "tenant changes account label", op: admission.Update, user: tenant, old: instance(true),
			obj:  instance(true, func(ti *config.TemplateInstance) { ti.Labels["kiosk.sh/account"] = "b" }),
			want: `metadata.labels[kiosk.sh/account]: mandatory template instance of account "a" is set by the account only`},
		{name: "tenant removes mandatory annotation", op: admission.Update, user: tenant, old: instance(true),
			obj:  instance(false),
			want: `metadata.annotations[templateinstance.config.kiosk.sh/mandatory]: mandatory template instance of account "a" is set by the account only`},
		{name: "tenant changes another label", op: admission.Update, user: tenant, old: instance(true),
			obj: instance(true, func(ti *config.TemplateInstance) { ti.Labels["team"] = "x" })},
		{name: "tenant changes status subresource", op: admission.Update, subresource: "status", user: tenant, old: instance(true),
			obj: instance(true, func(ti *config.TemplateInstance) { ti.Status.Reason = "x" })},
		{name: "server changes finalizers", op: admission.Update, user: server, old: instance(true),
			obj: instance(true, func(ti *config.TemplateInstance) { ti.Finalizers = []string{"f"} })},
		{name: "admin changes parameters", op: admission.Update, user: admin, old: instance(true),
			obj: instance(true, func(ti *config.TemplateInstance) { ti.Spec.Parameters = nil })},
		{name: "tenant adds mandatory annotation on update", op: admission.Update, user: tenant, old: instance(false), obj: instance(true),
			want: `metadata.annotations[templateinstance.config.kiosk.sh/mandatory]: mandatory template instance of account "a" is set by the account only`},
		{name: "tenant creates mandatory", op: admission.Create, user: tenant, obj: instance(true),
			want: `metadata.annotations[templateinstance.config.kiosk.sh/mandatory]: mandatory template instance of account "a" is set by the account only`},
		{name: "tenant creates ordinary", op: admission.Create, user: tenant, obj: instance(false)},
		{name: "admin creates mandatory", op: admission.Create, user: admin, obj: instance(true)},
		{name: "server creates mandatory", op: admission.Create, user: server, obj: instance(true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New()
			p.SetAuthorizer(authorizer.AuthorizerFunc(fakeAuthorizer{admins: map[string]bool{"admin": true}}.Authorize))
			if tc.namespace != nil {
				p.SetExternalKubeClientSet(fake.NewSimpleClientset(tc.namespace))
			} else {
				p.SetExternalKubeClientSet(fake.NewSimpleClientset())
			}
			if err := p.ValidateInitialization(); err != nil {
				t.Fatal(err)
			}
			var obj, old runtime.Object
			if tc.obj != nil {
				obj = tc.obj
			}
			if tc.old != nil {
				old = tc.old
			}
			name := "x"
			if tc.collection {
				name = ""
			}
			attrs := admission.NewAttributesRecord(obj, old, config.Kind("TemplateInstance").WithVersion(""),
				"ns", name, config.Resource("templateinstances").WithVersion(""), tc.subresource, tc.op, nil, false, tc.user)
			err := p.Validate(context.Background(), attrs, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want allowed, got %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("want refused with %q, got allowed", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("want %q, got %q", tc.want, err)
			}
		})
	}
}
