package apiserver

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

// The informers keep namespaces and RBAC objects without managedFields, and every other field
// as it was.
func TestTrimInformers(t *testing.T) {
	managed := []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", ManagedFields: managed,
		Labels: map[string]string{"kiosk.sh/account": "x"}, Annotations: map[string]string{"note": "kept"}},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "b", ManagedFields: managed},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "dev"}}}
	f := informers.NewSharedInformerFactory(fake.NewClientset(ns, rb), 0)
	if err := TrimInformers(f); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	f.Start(ctx.Done())
	defer func() {
		cancel()
		f.Shutdown()
	}()
	nsInformer, rbInformer := f.Core().V1().Namespaces().Informer(), f.Rbac().V1().RoleBindings().Informer()
	if !cache.WaitForCacheSync(ctx.Done(), nsInformer.HasSynced, rbInformer.HasSynced) {
		t.Fatal("informers did not sync")
	}
	gotNS, err := f.Core().V1().Namespaces().Lister().Get("a")
	if err != nil {
		t.Fatal(err)
	}
	if gotNS.ManagedFields != nil {
		t.Errorf("namespace keeps managedFields %v", gotNS.ManagedFields)
	}
	if gotNS.Labels["kiosk.sh/account"] != "x" || gotNS.Annotations["note"] != "kept" || gotNS.Status.Phase != corev1.NamespaceActive {
		t.Errorf("namespace lost other fields: %+v", gotNS)
	}
	gotRB, err := f.Rbac().V1().RoleBindings().Lister().RoleBindings("a").Get("b")
	if err != nil {
		t.Fatal(err)
	}
	if gotRB.ManagedFields != nil || len(gotRB.Subjects) != 1 || gotRB.RoleRef.Name != "view" {
		t.Errorf("RoleBinding: %+v", gotRB)
	}

	// Once started, an informer can no longer be trimmed, and says so.
	if err := TrimInformers(f); err == nil {
		t.Error("TrimInformers on a started factory succeeded")
	}
}
