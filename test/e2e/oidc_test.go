package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// oidcTeams are the Accounts team-a and team-b, whose subjects are the identity provider's
// groups team-a and team-b as kube-apiserver names them (oidc:team-a, oidc:team-b), both
// allowed to create Spaces (kiosk-edit), with one Space each that the admin made.
type oidcTeams struct {
	spaceA, spaceB string
}

func setupOIDCTeams(t *testing.T) oidcTeams {
	t.Helper()
	admin := cluster.AdminClients(t)
	ctx := context.Background()
	removeOIDCTeams(t)
	t.Cleanup(func() { removeOIDCTeams(t) })
	for _, team := range []string{"team-a", "team-b"} {
		_, err := admin.Kiosk.ConfigV1alpha1().Accounts().Create(ctx, &configv1alpha1.Account{
			ObjectMeta: metav1.ObjectMeta{Name: team},
			Spec: configv1alpha1.AccountSpec{Subjects: []rbacv1.Subject{
				{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: framework.OIDCPrefix + team},
			}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err := admin.Kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "oidc-teams-kiosk-edit"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kiosk-edit"},
		Subjects: []rbacv1.Subject{
			{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "oidc:team-a"},
			{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "oidc:team-b"},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	teams := oidcTeams{spaceA: framework.UniqueName("team-a"), spaceB: framework.UniqueName("team-b")}
	cluster.Admin().Apply(t, space(teams.spaceA, "team-a")).Success(t)
	cluster.Admin().Apply(t, space(teams.spaceB, "team-b")).Success(t)
	return teams
}

func removeOIDCTeams(t *testing.T) {
	t.Helper()
	admin := cluster.Admin()
	admin.Run(t, "delete", "namespace", "-l", "kiosk.sh/account in (team-a,team-b)", "--wait=false").Deleted(t)
	admin.Run(t, "delete", "accounts.config.kiosk.sh", "team-a", "team-b", "--ignore-not-found").Deleted(t)
	admin.Run(t, "delete", "clusterrolebinding", "oidc-teams-kiosk-edit", "--ignore-not-found").Deleted(t)
}

// names lists the names kubectl get prints with -o name, without the kind.
func listedNames(t *testing.T, k framework.Kubectl, resource string) []string {
	t.Helper()
	var out []string
	for _, line := range lines(k.Run(t, "get", resource, "-o", "name").Success(t).Stdout) {
		out = append(out, line[strings.Index(line, "/")+1:])
	}
	return out
}

// whoami is the user and groups kube-apiserver gives kubectl's credentials.
func whoami(t *testing.T, k framework.Kubectl) string {
	t.Helper()
	return k.Run(t, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}").Success(t).Stdout
}

// A user whose token puts them in the group team-a, which Account team-a names as
// oidc:team-a, sees only team-a's Spaces and Account, creates a Space for team-a and is
// refused one for team-b: real tokens, through kube-apiserver, no impersonation.
func TestOIDCGroupSubjectSeesAndCreatesOnlyItsAccountsSpaces(t *testing.T) {
	teams := setupOIDCTeams(t)
	alice := cluster.WithToken(t, cluster.OIDCToken(t, "alice", "team-a"))
	assert.Equal(t, `oidc:alice ["oidc:team-a","system:authenticated"]`, whoami(t, alice))

	spaces := listedNames(t, alice, "spaces")
	assert.Contains(t, spaces, teams.spaceA)
	assert.NotContains(t, spaces, teams.spaceB)
	assert.Equal(t, []string{"team-a"}, listedNames(t, alice, "accounts"))
	assert.Contains(t, alice.Run(t, "get", "space", teams.spaceB).Failure(t).Stderr, "NotFound")
	assert.Contains(t, alice.Run(t, "get", "account", "team-b").Failure(t).Stderr, "NotFound")

	created := framework.UniqueName("team-a")
	alice.Apply(t, space(created, "team-a")).Success(t)
	assert.Contains(t, listedNames(t, alice, "spaces"), created)
	alice.Run(t, "get", "pods", "-n", created).Success(t)
	r := alice.Apply(t, space(framework.UniqueName("team-b"), "team-b")).Failure(t)
	assert.Contains(t, r.Stderr, `User "oidc:alice" cannot create spaces for account "team-b"`)
}

// When the identity provider takes alice out of team-a and puts her in team-b, her next token
// sees team-b's Spaces and no longer team-a's, at once, in lists, gets, creates and watches.
// A watch opened with the earlier token keeps that token's identity until it ends:
// kube-apiserver authenticates a request once, when it starts.
func TestOIDCGroupRemovedFromTheTokenLosesAccessAtOnce(t *testing.T) {
	teams := setupOIDCTeams(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := cluster.TokenClients(t, cluster.OIDCToken(t, "alice", "team-a")).Kiosk.TenancyV1alpha1().Spaces()
	list, err := before.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Contains(t, spaceNames(list.Items), teams.spaceA)
	assert.NotContains(t, spaceNames(list.Items), teams.spaceB)
	openBefore, err := before.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	defer openBefore.Stop()

	token := cluster.OIDCToken(t, "alice", "team-b")
	after := cluster.TokenClients(t, token).Kiosk.TenancyV1alpha1()
	list, err = after.Spaces().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.NotContains(t, spaceNames(list.Items), teams.spaceA, "the new token lists team-a's Space")
	assert.Contains(t, spaceNames(list.Items), teams.spaceB)
	_, err = after.Spaces().Get(ctx, teams.spaceA, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "get of team-a's Space: %v", err)
	accounts, err := after.Accounts().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, accounts.Items, 1)
	assert.Equal(t, "team-b", accounts.Items[0].Name)
	r := cluster.WithToken(t, token).Apply(t, space(framework.UniqueName("team-a"), "team-a")).Failure(t)
	assert.Contains(t, r.Stderr, `User "oidc:alice" cannot create spaces for account "team-a"`)

	// A watch with the new token follows team-b and never shows team-a.
	openAfter, err := after.Spaces().Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	defer openAfter.Stop()
	newA, newB := framework.UniqueName("team-a"), framework.UniqueName("team-b")
	cluster.Admin().Apply(t, space(newA, "team-a")).Success(t)
	cluster.Admin().Apply(t, space(newB, "team-b")).Success(t)
	assert.Equal(t, []string{"ADDED " + newB}, watchUntil(t, openAfter, newB), "the new token's watch")
	assert.Equal(t, []string{"ADDED " + newA}, watchUntil(t, openBefore, newA), "the earlier token's watch")
}

// What does end an open watch's access: the admin takes the group out of the Account. The
// watch alice opened with her token, still valid and still naming team-a, gets DELETED for
// team-a's Space.
func TestOIDCGroupRemovedFromTheAccountRevokesAnOpenWatch(t *testing.T) {
	teams := setupOIDCTeams(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spaces := cluster.TokenClients(t, cluster.OIDCToken(t, "alice", "team-a")).Kiosk.TenancyV1alpha1().Spaces()
	list, err := spaces.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Contains(t, spaceNames(list.Items), teams.spaceA)
	open, err := spaces.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	defer open.Stop()

	cluster.Admin().Apply(t, accountYAML("team-a", "oidc:someone-else", "")).Success(t)
	assert.Equal(t, []string{"DELETED " + teams.spaceA}, watchUntil(t, open, teams.spaceA))
	list, err = spaces.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.NotContains(t, spaceNames(list.Items), teams.spaceA)
}

func spaceNames(items []tenancyv1alpha1.Space) []string {
	names := make([]string, 0, len(items))
	for _, s := range items {
		names = append(names, s.Name)
	}
	return names
}

// watchUntil returns the ADDED, MODIFIED and DELETED events of w, as "TYPE name", up to and
// including the first one for name.
func watchUntil(t *testing.T, w watch.Interface, name string) []string {
	t.Helper()
	var seen []string
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			require.True(t, ok, "the watch ended; events so far: %v", seen)
			s, isSpace := ev.Object.(*tenancyv1alpha1.Space)
			if !isSpace || ev.Type == watch.Bookmark {
				continue
			}
			seen = append(seen, string(ev.Type)+" "+s.Name)
			if s.Name == name {
				return seen
			}
		case <-timeout:
			t.Fatalf("no event for %s; events so far: %v", name, seen)
		}
	}
}

// The username claim gets the prefix too: an Account naming the User oidc:carol is carol's,
// one naming the User carol is not. Nor can a token claim the cluster's own identities: sub
// kubernetes-admin in group system:masters is oidc:kubernetes-admin in oidc:system:masters.
func TestOIDCUsernameMatchesOnlyTheSubjectWithThePrefix(t *testing.T) {
	withPrefix, without := framework.UniqueName("oidc-user"), framework.UniqueName("plain-user")
	admin := cluster.Admin()
	for _, a := range []struct{ name, user string }{{withPrefix, "oidc:carol"}, {without, "carol"}} {
		admin.Apply(t, accountYAML(a.name, a.user, "")).Success(t)
		t.Cleanup(func() {
			admin.Run(t, "delete", "namespace", "-l", "kiosk.sh/account="+a.name, "--wait=false").Deleted(t)
			admin.Run(t, "delete", "accounts.config.kiosk.sh", a.name, "--ignore-not-found").Deleted(t)
		})
		admin.Apply(t, space(a.name, a.name)).Success(t)
	}
	carol := cluster.WithToken(t, cluster.OIDCToken(t, "carol"))
	assert.Equal(t, `oidc:carol ["system:authenticated"]`, whoami(t, carol))
	assert.Equal(t, []string{withPrefix}, listedNames(t, carol, "accounts"))
	spaces := listedNames(t, carol, "spaces")
	assert.Contains(t, spaces, withPrefix)
	assert.NotContains(t, spaces, without)
	carol.Run(t, "get", "pods", "-n", withPrefix).Success(t)
	assert.Contains(t, carol.Run(t, "get", "pods", "-n", without).Failure(t).Stderr, "Forbidden")

	mallory := cluster.WithToken(t, cluster.OIDCToken(t, "kubernetes-admin", "system:masters"))
	assert.Equal(t, `oidc:kubernetes-admin ["oidc:system:masters","system:authenticated"]`, whoami(t, mallory))
	assert.Empty(t, listedNames(t, mallory, "accounts"))
	assert.NotContains(t, listedNames(t, mallory, "spaces"), withPrefix)
	assert.Contains(t, mallory.Run(t, "get", "namespaces").Failure(t).Stderr, "Forbidden")
}

// An expired token, a token of an issuer kube-apiserver does not trust, a token signed with
// another key in the trusted issuer's name and a token for another audience are refused by
// kube-apiserver with 401, and never reach tenancy-apiserver: its count of requests for
// Spaces does not move, while one request with a good token moves it.
func TestOIDCBadTokensAreRefusedBeforeTheServer(t *testing.T) {
	teams := setupOIDCTeams(t)
	other := otherSigningKey(t)
	// Each with the reason kube-apiserver logs for it.
	bad := map[string]struct {
		tok    framework.Token
		reason string
	}{
		"expired": {framework.Token{User: "alice", Groups: []string{"team-a"}, IssuedAgo: 2 * time.Hour, Lifetime: time.Hour},
			"oidc: token is expired"},
		"untrusted issuer": {framework.Token{User: "alice", Groups: []string{"team-a"}, IssuerURL: "https://127.0.0.1:1/untrusted", SigningKeyFile: other},
			`err="invalid bearer token"`},
		"forged signature": {framework.Token{User: "alice", Groups: []string{"team-a"}, SigningKeyFile: other},
			"failed to verify id token signature"},
		"wrong audience": {framework.Token{User: "alice", Groups: []string{"team-a"}, Audience: "another-cluster"},
			`expected audience \"tenancy-local\" got [\"another-cluster\"]`},
	}
	ctx := context.Background()
	served := spaceRequestsServed(t)
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			token := cluster.MintToken(t, b.tok)
			_, err := cluster.TokenClients(t, token).Kiosk.TenancyV1alpha1().Spaces().List(ctx, metav1.ListOptions{})
			require.Error(t, err)
			assert.True(t, apierrors.IsUnauthorized(err), "want 401, got %v", err)
			var status *apierrors.StatusError
			if assert.ErrorAs(t, err, &status) {
				assert.EqualValues(t, 401, status.ErrStatus.Code)
			}
			r := cluster.WithToken(t, token).Run(t, "get", "spaces").Failure(t)
			assert.Contains(t, r.Stderr, "You must be logged in to the server (Unauthorized)")
			assert.Contains(t, cluster.LogTail("kube-apiserver", 20), b.reason, "kube-apiserver's reason")
		})
	}
	assert.Equal(t, served, spaceRequestsServed(t), "a refused token reached tenancy-apiserver")

	// The count moves for a request that does reach the server.
	list, err := cluster.TokenClients(t, cluster.OIDCToken(t, "alice", "team-a")).Kiosk.TenancyV1alpha1().Spaces().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Contains(t, spaceNames(list.Items), teams.spaceA)
	assert.Greater(t, spaceRequestsServed(t), served, "a good token's request is not counted")
}

// otherSigningKey writes a signing key the cluster does not trust.
func otherSigningKey(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "untrusted.key")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	return path
}

// spaceRequestsServed is how many requests for tenancy.kiosk.sh Spaces tenancy-apiserver's
// replica 0 has answered, by its apiserver_request_total metric.
func spaceRequestsServed(t *testing.T) float64 {
	t.Helper()
	client, err := rest.UnversionedRESTClientFor(withCodec(cluster.Replica(0).Config()))
	require.NoError(t, err)
	raw, err := client.Get().AbsPath("/metrics").DoRaw(context.Background())
	require.NoError(t, err)
	var total float64
	found := false
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") || !strings.Contains(line, `group="tenancy.kiosk.sh"`) ||
			!strings.Contains(line, `resource="spaces"`) {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(line[strings.LastIndex(line, " "):]), 64)
		require.NoError(t, err, line)
		require.False(t, math.IsNaN(n), line)
		total += n
		found = true
	}
	require.True(t, found, "replica 0's /metrics has no apiserver_request_total for spaces")
	return total
}

// The walkthrough once more, with dev and dba signing in through the local OIDC issuer (a
// kubeconfig exec plugin, as kubelogin does for a real identity provider) instead of
// impersonation: the manifests name them as kube-apiserver does, oidc:dev and oidc:dba.
func TestWalkthroughWithOIDCUsers(t *testing.T) {
	w := walkthroughTenants{
		dev: cluster.OIDCUser(t, "dev"), dba: cluster.OIDCUser(t, "dba"),
		devName: framework.OIDCPrefix + "dev", dbaName: framework.OIDCPrefix + "dba",
	}
	assert.Equal(t, `oidc:dev ["system:authenticated"]`, whoami(t, w.dev))
	assert.Equal(t, `oidc:dba ["system:authenticated"]`, whoami(t, w.dba))
	walkthrough(t, w)
}
