package sleep

import (
	"context"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
)

// scaled are the kinds a sleeping Space scales to zero. ReplicaSets only when nothing owns
// them: a Deployment's are scaled through it.
var scaled = []struct {
	gvr       schema.GroupVersionResource
	ownerless bool
}{
	{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}},
	{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}},
	{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, ownerless: true},
	{gvr: schema.GroupVersionResource{Version: "v1", Resource: "replicationcontrollers"}},
}

var (
	cronJobs = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}
	pods     = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
)

func excluded(o *unstructured.Unstructured) bool { return o.GetAnnotations()[sleep.Exclude] == "true" }

// replicas is spec.replicas, 1 when unset as the API defaults it.
func replicas(o *unstructured.Unstructured) int64 {
	n, found, err := unstructured.NestedInt64(o.Object, "spec", "replicas")
	if err != nil || !found {
		return 1
	}
	return n
}

func setAnnotation(o *unstructured.Unstructured, key, value string) {
	a := o.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	if value == "" {
		delete(a, key)
	} else {
		a[key] = value
	}
	o.SetAnnotations(a)
}

// scaleDown scales every workload of namespace to zero, recording the replicas it had in
// the Replicas annotation, and suspends its CronJobs; with deletePods, it deletes the Pods
// no controller owns. Workloads recorded already (a sleep begun before a restart, or scaled
// by a user since) are left as they are. It returns the replicas saved.
func (c *Controller) scaleDown(ctx context.Context, namespace string, deletePods bool) (int64, error) {
	var saved int64
	for _, kind := range scaled {
		items, err := c.list(ctx, kind.gvr, namespace)
		if err != nil {
			return 0, err
		}
		for i := range items {
			o := &items[i]
			if excluded(o) || (kind.ownerless && len(o.GetOwnerReferences()) > 0) {
				continue
			}
			if rec, ok := o.GetAnnotations()[sleep.Replicas]; ok {
				if n, err := strconv.ParseInt(rec, 10, 64); err == nil && replicas(o) == 0 {
					saved += n
				}
				continue
			}
			n := replicas(o)
			if n == 0 {
				continue
			}
			setAnnotation(o, sleep.Replicas, strconv.FormatInt(n, 10))
			if err := unstructured.SetNestedField(o.Object, int64(0), "spec", "replicas"); err != nil {
				return 0, err
			}
			if err := c.update(ctx, kind.gvr, o); err != nil {
				return 0, err
			}
			saved += n
		}
	}
	jobs, err := c.list(ctx, cronJobs, namespace)
	if err != nil {
		return 0, err
	}
	for i := range jobs {
		o := &jobs[i]
		if excluded(o) || o.GetAnnotations()[sleep.Suspended] == "true" {
			continue
		}
		if suspended, _, _ := unstructured.NestedBool(o.Object, "spec", "suspend"); suspended {
			continue
		}
		setAnnotation(o, sleep.Suspended, "true")
		if err := unstructured.SetNestedField(o.Object, true, "spec", "suspend"); err != nil {
			return 0, err
		}
		if err := c.update(ctx, cronJobs, o); err != nil {
			return 0, err
		}
	}
	if deletePods {
		list, err := c.list(ctx, pods, namespace)
		if err != nil {
			return 0, err
		}
		for i := range list {
			o := &list[i]
			if excluded(o) || len(o.GetOwnerReferences()) > 0 || o.GetDeletionTimestamp() != nil {
				continue
			}
			err := c.dynamic.Resource(pods).Namespace(namespace).Delete(ctx, o.GetName(), metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				return 0, fmt.Errorf("pod %s/%s: %w", namespace, o.GetName(), err)
			}
		}
	}
	return saved, nil
}

// scaleUp gives every workload of namespace that sleep mode scaled down the replicas it
// recorded, unless a user set other replicas since, which it keeps; and resumes the
// CronJobs sleep mode suspended, unless a user resumed them already.
func (c *Controller) scaleUp(ctx context.Context, namespace string) error {
	for _, kind := range scaled {
		items, err := c.list(ctx, kind.gvr, namespace)
		if err != nil {
			return err
		}
		for i := range items {
			o := &items[i]
			rec, ok := o.GetAnnotations()[sleep.Replicas]
			if !ok {
				continue
			}
			if n, err := strconv.ParseInt(rec, 10, 64); err == nil && n > 0 && replicas(o) == 0 {
				if err := unstructured.SetNestedField(o.Object, n, "spec", "replicas"); err != nil {
					return err
				}
			}
			setAnnotation(o, sleep.Replicas, "")
			if err := c.update(ctx, kind.gvr, o); err != nil {
				return err
			}
		}
	}
	jobs, err := c.list(ctx, cronJobs, namespace)
	if err != nil {
		return err
	}
	for i := range jobs {
		o := &jobs[i]
		if o.GetAnnotations()[sleep.Suspended] != "true" {
			continue
		}
		if err := unstructured.SetNestedField(o.Object, false, "spec", "suspend"); err != nil {
			return err
		}
		setAnnotation(o, sleep.Suspended, "")
		if err := c.update(ctx, cronJobs, o); err != nil {
			return err
		}
	}
	return nil
}

func (c *Controller) list(ctx context.Context, gvr schema.GroupVersionResource, namespace string) ([]unstructured.Unstructured, error) {
	list, err := c.dynamic.Resource(gvr).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing %s in %s: %w", gvr.Resource, namespace, err)
	}
	return list.Items, nil
}

// update writes o as read, so that a concurrent change by a user makes it fail with a
// conflict and the Space is synced again, rather than overwritten.
func (c *Controller) update(ctx context.Context, gvr schema.GroupVersionResource, o *unstructured.Unstructured) error {
	_, err := c.dynamic.Resource(gvr).Namespace(o.GetNamespace()).Update(ctx, o, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s/%s: %w", gvr.Resource, o.GetNamespace(), o.GetName(), err)
	}
	return nil
}
