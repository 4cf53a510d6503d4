package hubaccount

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
)

// kind is how the copies of one resource are read and written in a member.
type kind[T metav1.Object] struct {
	name   string
	list   func(ctx context.Context, opts metav1.ListOptions) ([]T, error)
	create func(ctx context.Context, obj T) error
	update func(ctx context.Context, obj T) error
	delete func(ctx context.Context, name string, opts metav1.DeleteOptions) error
	// same reports whether got holds want's content (labels and annotations aside).
	same func(want, got T) bool
	// onto is got with want's content, labels and annotations.
	onto func(want, got T) T
}

// reconcile makes the copies of one resource in a member, those labelled with hub's value,
// exactly want: it creates the missing, reverts the changed and deletes those no longer
// wanted. It never writes an object without the label: a wanted name taken by one is
// reported in problems. err is set when the member could not be read at all.
func reconcile[T metav1.Object](ctx context.Context, k kind[T], hub string, want map[string]T) (problems map[string]string, err error) {
	have, err := k.list(ctx, metav1.ListOptions{LabelSelector: configv1alpha1.HubLabel + "=" + hub})
	if err != nil {
		return nil, fmt.Errorf("listing %ss: %w", k.name, err)
	}
	problems = map[string]string{}
	haveByName := map[string]T{}
	for _, h := range have {
		haveByName[h.GetName()] = h
		if _, ok := want[h.GetName()]; ok {
			continue
		}
		uid := h.GetUID()
		err := k.delete(ctx, h.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			problems[h.GetName()] = fmt.Sprintf("deleting %s %s: %v", k.name, h.GetName(), err)
		}
	}
	for name, w := range want {
		h, ok := haveByName[name]
		switch {
		case !ok:
			err = k.create(ctx, w)
			if apierrors.IsAlreadyExists(err) {
				problems[name] = fmt.Sprintf("%s %s exists there and is not managed by this hub", k.name, name)
				continue
			}
		case k.same(w, h) && sameMeta(metaOf(w), metaOf(h)):
			continue
		default:
			err = k.update(ctx, k.onto(w, h))
			if apierrors.IsInvalid(err) {
				// An immutable field changed in the hub: make the copy anew.
				err = replace(ctx, k, h.GetUID(), w)
			}
		}
		if err != nil {
			problems[name] = fmt.Sprintf("writing %s %s: %v", k.name, name, err)
		}
	}
	return problems, nil
}

func replace[T metav1.Object](ctx context.Context, k kind[T], uid types.UID, w T) error {
	err := k.delete(ctx, w.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return k.create(ctx, w)
}

func metaOf(o metav1.Object) metav1.ObjectMeta {
	return metav1.ObjectMeta{Labels: o.GetLabels(), Annotations: o.GetAnnotations()}
}

// typedClient is a generated client of one cluster-scoped resource.
type typedClient[T any, L any] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
}

func newKind[T metav1.Object, L any](name string, c typedClient[T, L], items func(L) []T,
	same func(want, got T) bool, onto func(want, got T) T) kind[T] {
	return kind[T]{
		name: name,
		list: func(ctx context.Context, opts metav1.ListOptions) ([]T, error) {
			l, err := c.List(ctx, opts)
			if err != nil {
				return nil, err
			}
			return items(l), nil
		},
		create: func(ctx context.Context, o T) error {
			_, err := c.Create(ctx, o, metav1.CreateOptions{FieldManager: configv1alpha1.FieldManager})
			return err
		},
		update: func(ctx context.Context, o T) error {
			_, err := c.Update(ctx, o, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager})
			return err
		},
		delete: c.Delete,
		same:   same,
		onto:   onto,
	}
}

func accountKind(client versioned.Interface) kind[*configv1alpha1.Account] {
	return newKind("Account", client.ConfigV1alpha1().Accounts(),
		func(l *configv1alpha1.AccountList) []*configv1alpha1.Account { return pointers(l.Items) },
		func(w, h *configv1alpha1.Account) bool { return sameJSON(w.Spec, h.Spec) },
		func(w, h *configv1alpha1.Account) *configv1alpha1.Account {
			out := h.DeepCopy()
			out.Labels, out.Annotations, out.Spec = w.Labels, w.Annotations, w.Spec
			return out
		})
}

func quotaKind(client versioned.Interface) kind[*configv1alpha1.AccountQuota] {
	return newKind("AccountQuota", client.ConfigV1alpha1().AccountQuotas(),
		func(l *configv1alpha1.AccountQuotaList) []*configv1alpha1.AccountQuota { return pointers(l.Items) },
		func(w, h *configv1alpha1.AccountQuota) bool { return sameJSON(w.Spec, h.Spec) },
		func(w, h *configv1alpha1.AccountQuota) *configv1alpha1.AccountQuota {
			out := h.DeepCopy()
			out.Labels, out.Annotations, out.Spec = w.Labels, w.Annotations, w.Spec
			return out
		})
}

func templateKind(client versioned.Interface) kind[*configv1alpha1.Template] {
	return newKind("Template", client.ConfigV1alpha1().Templates(),
		func(l *configv1alpha1.TemplateList) []*configv1alpha1.Template { return pointers(l.Items) },
		func(w, h *configv1alpha1.Template) bool {
			return sameJSON(w.Resources, h.Resources) && sameJSON(w.Parameters, h.Parameters) &&
				w.AllowClusterScoped == h.AllowClusterScoped
		},
		func(w, h *configv1alpha1.Template) *configv1alpha1.Template {
			out := h.DeepCopy()
			out.Labels, out.Annotations = w.Labels, w.Annotations
			out.Resources, out.Parameters, out.AllowClusterScoped = w.Resources, w.Parameters, w.AllowClusterScoped
			return out
		})
}

// sameJSON reports whether a and b are the same on the wire: a manifest of a Template is
// the same object whatever the order of its keys.
func sameJSON(a, b any) bool {
	var x, y any
	return decodeJSON(a, &x) == nil && decodeJSON(b, &y) == nil && reflect.DeepEqual(x, y)
}

func decodeJSON(v any, into *any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}

func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}
