package quota_test

import (
	"encoding/json"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/quota"
)

// The AccountQuotas of the fuzzed Account: one over every Pod, one over Terminating Pods
// (activeDeadlineSeconds set), one over Pods that are not BestEffort.
var fuzzQuotas = []quota.Quota{
	{Name: "all", Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
		corev1.ResourcePods: resource.MustParse("3"), corev1.ResourceRequestsCPU: resource.MustParse("1"), corev1.ResourceLimitsCPU: resource.MustParse("1")}}},
	{Name: "terminating", Spec: corev1.ResourceQuotaSpec{Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating},
		Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1"), corev1.ResourceRequestsCPU: resource.MustParse("500m")}}},
	{Name: "not-best-effort", Spec: corev1.ResourceQuotaSpec{Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotBestEffort},
		Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("2")}}},
}

const fuzzSlots = 3

// The operations of a fuzzed sequence, three bytes each: the operation and slot, then two
// Pods' specs (fuzzPod).
const (
	opCreate  = iota // create the Pod of the slot, if there is none
	opUpdate         // update the Pod of the slot: its cpu and activeDeadlineSeconds
	opForged         // an UPDATE review with any old and new Pod, that stores nothing
	opDelete         // delete the Pod of the slot (not sent to the webhook)
	opRecount        // the quota controller's recount, while the webhook charged recently or not
	opStatus         // the kubelet moves the Pod's phase on (pods/status, not sent to the webhook)
	opKinds
)

var (
	fuzzCPU    = []string{"", "100m", "300m", "600m"}
	fuzzPhases = []corev1.PodPhase{corev1.PodPending, corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed}
	fuzzDue    = []*int64{nil, ptr.To[int64](60), ptr.To[int64](30)}
)

// fuzzPod is the Pod of slot that b spells: its cpu (requests and limits, none for a
// BestEffort Pod), phase and activeDeadlineSeconds.
func fuzzPod(slot int, b byte) *corev1.Pod {
	p := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", slot)},
		Spec: corev1.PodSpec{ActiveDeadlineSeconds: fuzzDue[int(b/16)%len(fuzzDue)],
			Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
	if cpu := fuzzCPU[int(b)%len(fuzzCPU)]; cpu != "" {
		q := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
		p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: q, Limits: q}
	}
	p.Status.Phase = fuzzPhases[int(b/4)%len(fuzzPhases)]
	return p
}

// fuzzAccount is the Account's Pods and the status.total.used of its quotas.
type fuzzAccount struct {
	pods [fuzzSlots]*corev1.Pod
	used []corev1.ResourceList
}

// admit decides obj (created, or updated from old) as the webhook does, from the JSON of the
// AdmissionReview, and charges it to every quota or to none; it reports whether obj was
// admitted.
func (a *fuzzAccount) admit(t *testing.T, obj, old *corev1.Pod) bool {
	decode := func(p *corev1.Pod) *quota.Object {
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		o, err := quota.Decode(schema.GroupResource{Resource: "pods"}, raw)
		if err != nil {
			t.Fatalf("decoding a Pod: %v", err)
		}
		return o
	}
	var before *quota.Object
	if old != nil {
		before = decode(old)
	}
	charge := quota.NewCharge(decode(obj), before)
	ledgers := make([]*quota.Ledger, len(fuzzQuotas))
	demands := make([]quota.Demand, len(fuzzQuotas))
	for i, q := range fuzzQuotas {
		ledgers[i] = &quota.Ledger{Name: q.Name, Hard: q.Spec.Hard, Used: quota.Total(q.Spec.Hard, a.used[i])}
		demands[i] = charge.DemandOf(q.Name, q.Spec)
	}
	if err := quota.Take(ledgers, demands, false); err != nil {
		return false
	}
	for i, l := range ledgers {
		a.used[i] = l.Used
	}
	return true
}

// counted is what the Pods use of quota i, as the recount counts them.
func (a *fuzzAccount) counted(i int) corev1.ResourceList {
	spec := fuzzQuotas[i].Spec
	used := quota.Total(spec.Hard)
	for _, p := range a.pods {
		if p != nil {
			used = quota.Count(spec, used, quota.FromPod(p))
		}
	}
	return used
}

func (a *fuzzAccount) recount(recent bool) {
	for i, q := range fuzzQuotas {
		a.used[i] = quota.Recounted(q.Spec.Hard, a.counted(i), a.used[i], recent)
	}
}

// check holds the invariants: no usage exceeds hard or goes below 0, and none is below what
// the Pods use.
func (a *fuzzAccount) check(t *testing.T, step int) {
	t.Helper()
	for i, q := range fuzzQuotas {
		counted := a.counted(i)
		for r, limit := range q.Spec.Hard {
			used, pods := a.used[i][r], counted[r]
			switch {
			case used.Cmp(limit) > 0:
				t.Fatalf("step %d: quota %s: used %s=%s exceeds hard %s", step, q.Name, r, used.String(), limit.String())
			case used.Sign() < 0:
				t.Fatalf("step %d: quota %s: used %s=%s is below 0", step, q.Name, r, used.String())
			case used.Cmp(pods) < 0:
				t.Fatalf("step %d: quota %s: used %s=%s is below the %s the Pods use", step, q.Name, r, used.String(), pods.String())
			}
		}
	}
}

// FuzzAccountQuotaDecisions runs sequences of Pod creates, updates (real and forged),
// deletes, phase changes and recounts against the AccountQuotas of one Account, through the
// webhook's decision (quota.Decode, NewCharge, DemandOf, Take) and the controller's recount.
// Admitted usage never exceeds hard and never goes below 0 or below what the Pods use, and a
// recount once the webhook's charges are old gives exactly what the Pods use.
func FuzzAccountQuotaDecisions(f *testing.F) {
	const (
		running300m         = 2 + 4*1          // cpu 300m, Running, no activeDeadlineSeconds
		running300mDeadline = running300m + 16 // the same with activeDeadlineSeconds: 60
		succeeded300m       = 2 + 4*2
	)
	op := func(kind, slot int) byte { return byte(kind + opKinds*slot) }
	// A replayed UPDATE review of a Pod that finished credits nothing.
	f.Add([]byte{op(opCreate, 0), running300m, 0,
		op(opForged, 0), succeeded300m, running300m, op(opForged, 0), succeeded300m, running300m,
		op(opForged, 0), succeeded300m, running300m, op(opCreate, 1), running300m, 0, op(opCreate, 2), running300m, 0})
	// A Pod that gets activeDeadlineSeconds enters the Terminating quota and is charged to it.
	f.Add([]byte{op(opCreate, 0), running300m, 0, op(opCreate, 1), running300m, 0,
		op(opUpdate, 0), running300mDeadline, 0, op(opUpdate, 1), running300mDeadline, 0})
	// Recounts while the Pods finish and are deleted, then new Pods.
	f.Add([]byte{op(opCreate, 0), running300m, 0, op(opCreate, 1), 1, 0, op(opStatus, 0), succeeded300m, 0,
		op(opRecount, 0), 1, 0, op(opDelete, 1), 0, 0, op(opRecount, 0), 0, 0, op(opCreate, 1), 3, 0, op(opCreate, 2), running300mDeadline, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		a := &fuzzAccount{used: make([]corev1.ResourceList, len(fuzzQuotas))}
		for step := 0; step+2 < len(ops) && step < 3*64; step += 3 {
			kind, slot, spec, other := int(ops[step])%opKinds, int(ops[step]/opKinds)%fuzzSlots, ops[step+1], ops[step+2]
			stored := a.pods[slot]
			switch kind {
			case opCreate:
				if stored == nil {
					if p := fuzzPod(slot, spec); a.admit(t, p, nil) {
						a.pods[slot] = p
					}
				}
			case opUpdate:
				if stored != nil {
					p := fuzzPod(slot, spec)
					p.Status.Phase = stored.Status.Phase
					if a.admit(t, p, stored) {
						a.pods[slot] = p
					}
				}
			case opForged:
				a.admit(t, fuzzPod(slot, spec), fuzzPod(slot, other))
			case opDelete:
				a.pods[slot] = nil
			case opRecount:
				a.recount(spec%2 == 1)
			case opStatus:
				if stored != nil && stored.Status.Phase != corev1.PodSucceeded && stored.Status.Phase != corev1.PodFailed {
					p := stored.DeepCopy()
					p.Status.Phase = fuzzPhases[1+int(spec)%3] // Running, Succeeded or Failed
					a.pods[slot] = p
				}
			}
			a.check(t, step/3)
		}
		a.recount(false)
		for i, q := range fuzzQuotas {
			counted := a.counted(i)
			for r := range q.Spec.Hard {
				if used, pods := a.used[i][r], counted[r]; used.Cmp(pods) != 0 {
					t.Fatalf("after the recount, quota %s: used %s=%s, the Pods use %s", q.Name, r, used.String(), pods.String())
				}
			}
		}
	})
}
