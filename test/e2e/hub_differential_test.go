package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// 50 random RBAC changes across the hub and the member (a RoleBinding of view granted or
// revoked for one of five users in one of twelve Spaces): after each, every user's list
// through the hub is exactly the hub's own list for them plus the member's own list for
// them, marked with the member.
func TestHubListMatchesEachClusterAfterRandomRBACChanges(t *testing.T) {
	const changes = 50
	ctx := context.Background()
	m := member(t)
	name := framework.UniqueName("member")
	joinMember(t, m, name)
	prefix := framework.UniqueName("hubdiff")
	users := make([]string, 5)
	for i := range users {
		users[i] = fmt.Sprintf("%s-user-%d", prefix, i)
	}
	type side struct {
		cluster string
		admin   framework.Clients
		spaces  []string
	}
	sides := []*side{{cluster: "", admin: cluster.AdminClients(t)}, {cluster: name, admin: m.AdminClients(t)}}
	for _, s := range sides {
		for i := range 6 {
			ns := fmt.Sprintf("%s-%s%d", prefix, map[bool]string{true: "h", false: "m"}[s.cluster == ""], i)
			s.spaces = append(s.spaces, ns)
			_, err := s.admin.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				Name: ns, Labels: map[string]string{"kiosk.sh/account": "diff"}}}, metav1.CreateOptions{})
			require.NoError(t, err)
			admin := s.admin
			t.Cleanup(func() {
				deleted(t, "Namespace "+ns, admin.Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}))
			})
		}
	}
	// list is what c lists, "<cluster>/<name>"; tag replaces the cluster, and selector narrows.
	list := func(c framework.Clients, tag, selector string) ([]string, error) {
		l, err := c.Kiosk.TenancyV1alpha1().Spaces().List(ctx, metav1.ListOptions{FieldSelector: selector})
		if err != nil {
			return nil, err
		}
		out := []string{}
		for _, s := range l.Items {
			if !strings.HasPrefix(s.Name, prefix) {
				continue
			}
			c := s.Spec.Cluster
			if tag != "" {
				c = tag
			}
			out = append(out, c+"/"+s.Name)
		}
		sort.Strings(out)
		return out, nil
	}
	hubClients, memberClients := map[string]framework.Clients{}, map[string]framework.Clients{}
	for _, u := range users {
		hubClients[u], memberClients[u] = cluster.ClientsAs(t, u), m.ClientsAs(t, u)
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 23))
	// retried counts the comparisons where the hub's first list after the member's own was
	// not yet equal to it: the hub answers from views that the members' watches fill, which
	// may lag the member's own list by the watch's delivery.
	retried := 0
	for change := range changes {
		s := sides[rng.IntN(len(sides))]
		ns, u := s.spaces[rng.IntN(len(s.spaces))], users[rng.IntN(len(users))]
		rbs := s.admin.Kube.RbacV1().RoleBindings(ns)
		_, err := rbs.Create(ctx, viewBinding("view-"+u, u), metav1.CreateOptions{})
		what := "grant"
		if apierrors.IsAlreadyExists(err) {
			what, err = "revoke", rbs.Delete(ctx, "view-"+u, metav1.DeleteOptions{})
		}
		require.NoError(t, err)
		for _, u := range users {
			var hub, want []string
			deadline := time.Now().Add(5 * time.Second)
			for attempt := 0; ; attempt++ {
				// The hub's own cluster alone (spec.cluster empty), and the member's own list.
				own, err := list(hubClients[u], "", "spec.cluster=")
				require.NoError(t, err)
				mem, err := list(memberClients[u], name, "")
				require.NoError(t, err)
				want = append(own, mem...)
				sort.Strings(want)
				hub, err = list(hubClients[u], "", "")
				require.NoError(t, err)
				if slices.Equal(hub, want) {
					break
				}
				if attempt == 0 {
					retried++
				}
				if time.Now().After(deadline) {
					t.Fatalf("change %d (%s %s to %s in cluster %q): the hub lists for %s\n%v\nwant each cluster's own\n%v",
						change, what, ns, u, s.cluster, u, hub, want)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	t.Logf("%d of %d comparisons listed again before the hub matched each cluster's own list", retried, changes*len(users))
}
