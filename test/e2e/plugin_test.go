package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// pluginTimeout bounds one kubectl run of a plugin.
const pluginTimeout = 2 * time.Minute

// plugins is the directory the suite's plugins are built in once, removed when the suite ends.
var plugins struct {
	once sync.Once
	dir  string
	err  error
}

// buildPlugins builds kubectl-space and kubectl-account from the work tree, once for the
// suite, into a directory with the kubectl_complete- links kubectl runs to complete a
// plugin's arguments, as make plugins lays them out in _output/bin. It builds as make does
// (-trimpath), so after make build only the link is left to do.
func buildPlugins(t *testing.T) string {
	t.Helper()
	plugins.once.Do(func() { plugins.dir, plugins.err = buildPluginsIn() })
	require.NoError(t, plugins.err)
	return plugins.dir
}

func buildPluginsIn() (string, error) {
	dir, err := os.MkdirTemp("", "e2e-plugins-")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", dir+"/", "./cmd/kubectl-space", "./cmd/kubectl-account")
	cmd.Dir = cluster.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return dir, fmt.Errorf("building the plugins: %w: %s", err, out)
	}
	for _, p := range []string{"space", "account"} {
		if err := os.Symlink("kubectl-"+p, filepath.Join(dir, "kubectl_complete-"+p)); err != nil {
			return dir, err
		}
	}
	return dir, nil
}

// removePlugins removes what buildPlugins built.
func removePlugins() error {
	if plugins.dir == "" {
		return nil
	}
	return os.RemoveAll(plugins.dir)
}

// pluginUser runs the real kubectl, which finds the plugins on PATH, as user: with a
// kubeconfig of its own (a copy of the admin's, which space use may write) and --as, placed
// after the plugin's arguments as kubectl requires of plugins (it passes them on).
type pluginUser struct {
	bin, kubeconfig, user string
}

// newPluginUser is a pluginUser for user (the admin when "") with a fresh kubeconfig.
func newPluginUser(t *testing.T, bin, user string) pluginUser {
	t.Helper()
	data, err := os.ReadFile(cluster.Kubeconfig)
	require.NoError(t, err)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, data, 0o600))
	return pluginUser{bin: bin, kubeconfig: kubeconfig, user: user}
}

func (p pluginUser) run(t *testing.T, args ...string) framework.Result {
	t.Helper()
	return p.runWithInput(t, "", args...)
}

func (p pluginUser) runWithInput(t *testing.T, stdin string, args ...string) framework.Result {
	t.Helper()
	full := append(append([]string{}, args...), p.flags()...)
	return p.exec(t, stdin, cluster.KubectlPath, full)
}

// complete asks kubectl to complete the last word of args (the plugin's name, then its
// arguments), as a shell does on TAB. The kubeconfig and identity flags go right after the
// plugin's name, where they cannot be taken for the value of a flag being completed.
func (p pluginUser) complete(t *testing.T, args ...string) []string {
	t.Helper()
	full := append(append(append([]string{"__complete"}, args[0]), p.flags()...), args[1:]...)
	r := p.exec(t, "", cluster.KubectlPath, full).Success(t)
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if line != "" && !strings.HasPrefix(line, ":") {
			names = append(names, line)
		}
	}
	return names
}

// runOnTerminal runs kubectl with args on a terminal (util-linux script gives it one) and types
// answer on it.
func (p pluginUser) runOnTerminal(t *testing.T, answer string, args ...string) framework.Result {
	t.Helper()
	words := append(append([]string{cluster.KubectlPath}, args...), p.flags()...)
	for i, w := range words {
		words[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return p.exec(t, answer, "script", []string{"-qec", strings.Join(words, " "), "/dev/null"})
}

func (p pluginUser) flags() []string {
	flags := []string{"--kubeconfig", p.kubeconfig}
	if p.user != "" {
		flags = append(flags, "--as="+p.user)
	}
	return flags
}

func (p pluginUser) exec(t *testing.T, stdin, name string, args []string) framework.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pluginTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "PATH="+p.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+p.kubeconfig, "KUBECTL_COMMAND_HEADERS=false")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, stdout.String(), stderr.String())
	return framework.Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
}

// currentNamespace is the current context of the kubeconfig and its namespace.
func (p pluginUser) currentNamespace(t *testing.T) (context, namespace string) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(p.kubeconfig)
	require.NoError(t, err)
	c, ok := cfg.Contexts[cfg.CurrentContext]
	require.True(t, ok, "current context %q is in the kubeconfig", cfg.CurrentContext)
	return cfg.CurrentContext, c.Namespace
}

// noStackTrace asserts that a failed plugin run printed its error and nothing of Go's.
func noStackTrace(t *testing.T, r framework.Result) {
	t.Helper()
	for _, s := range []string{"goroutine ", "panic:", ".go:"} {
		assert.NotContains(t, r.Stderr, s)
	}
}

// A tenant works with their Spaces through kubectl space and kubectl account, with the
// plugins on PATH: list, create with and without --account, use (in the current context and
// in a new one), delete with --yes and the refusal without it, completion of names.
func TestPluginSpaces(t *testing.T) {
	bin := buildPlugins(t)
	acct, user := framework.UniqueName("plugin"), framework.UniqueName("plugin-dev")
	admin := cluster.Admin()
	admin.Apply(t, accountYAML(acct, user, "    limit: 3\n    clusterRole: kiosk-space-admin\n")).Success(t)
	grantKioskEdit(t, cluster.AdminClients(t), acct, user)
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", "-l", "kiosk.sh/account="+acct, "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accountquotas", acct, "--ignore-not-found").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", acct, "--ignore-not-found").Deleted(t)
	})
	tenant := newPluginUser(t, bin, user)

	r := tenant.run(t, "space", "list").Success(t)
	assert.Empty(t, r.Stdout)
	assert.Equal(t, "No resources found\n", r.Stderr)

	// create, without --account: the tenant's only Account.
	web, db := acct+"-web", acct+"-db"
	r = tenant.run(t, "space", "create", web).Success(t)
	assert.Equal(t, "space.tenancy.kiosk.sh/"+web+" created\n", r.Stdout)
	assert.Equal(t, acct, admin.Run(t, "get", "namespace", web, "-o", `jsonpath={.metadata.labels.kiosk\.sh/account}`).Success(t).Stdout)
	r = tenant.run(t, "space", "create", db, "--account", acct, "-o", "name").Success(t)
	assert.Equal(t, "space.tenancy.kiosk.sh/"+db+"\n", r.Stdout)

	// list, in every output format.
	r = tenant.run(t, "space", "list").Success(t)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	require.Len(t, lines, 3, r.Stdout)
	assert.Equal(t, []string{"NAME", "ACCOUNT", "PHASE", "AGE"}, strings.Fields(lines[0]))
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f[1:3]
	}
	assert.Equal(t, map[string][]string{web: {acct, "Active"}, db: {acct, "Active"}}, rows)
	r = tenant.run(t, "space", "list", "-o", "wide", "--no-headers").Success(t)
	assert.Len(t, strings.Split(strings.TrimSpace(r.Stdout), "\n"), 2)
	assert.NotContains(t, r.Stdout, "NAME")
	r = tenant.run(t, "space", "list", "-o", "name").Success(t)
	assert.ElementsMatch(t, []string{"space.tenancy.kiosk.sh/" + web, "space.tenancy.kiosk.sh/" + db}, strings.Fields(r.Stdout))
	for _, format := range []string{"json", "yaml"} {
		r = tenant.run(t, "space", "list", "-o", format).Success(t)
		data := []byte(r.Stdout)
		if format == "yaml" {
			var err error
			data, err = yaml.YAMLToJSON(data)
			require.NoError(t, err)
		}
		var list struct {
			Kind  string `json:"kind"`
			Items []struct {
				APIVersion string            `json:"apiVersion"`
				Kind       string            `json:"kind"`
				Metadata   metav1.ObjectMeta `json:"metadata"`
				Spec       struct {
					Account string `json:"account"`
				} `json:"spec"`
			} `json:"items"`
		}
		require.NoError(t, json.Unmarshal(data, &list), r.Stdout)
		assert.Equal(t, "List", list.Kind)
		got := map[string]string{}
		for _, s := range list.Items {
			assert.Equal(t, "tenancy.kiosk.sh/v1alpha1 Space", s.APIVersion+" "+s.Kind)
			got[s.Metadata.Name] = s.Spec.Account
		}
		assert.Equal(t, map[string]string{web: acct, db: acct}, got, format)
	}

	// account list and show; AccountQuotas once the tenant may list them.
	r = tenant.run(t, "account", "list", "--no-headers").Success(t)
	assert.Equal(t, []string{acct, "2"}, strings.Fields(r.Stdout)[:2])
	admin.Apply(t, fmt.Sprintf("apiVersion: config.kiosk.sh/v1alpha1\nkind: AccountQuota\nmetadata:\n  name: %s\nspec:\n  account: %s\n  quota:\n    hard:\n      pods: \"4\"\n", acct, acct)).Success(t)
	r = tenant.run(t, "account", "show", acct).Success(t)
	assert.Regexp(t, `(?m)^Spaces:\s+2 of 3$`, r.Stdout)
	assert.Regexp(t, `(?m)^Space ClusterRole:\s+kiosk-space-admin$`, r.Stdout)
	assert.Regexp(t, `(?m)^AccountQuotas:\s+not shown, you may not list them: Error from server \(Forbidden\): accountquotas.config.kiosk.sh is forbidden: User "`+user+`" cannot list resource "accountquotas"`, r.Stdout)
	grantAccountQuotaList(t, acct+"-quotas", user)
	eventually(t, "account show shows the AccountQuota", func(context.Context) bool {
		out := tenant.run(t, "account", "show", acct).Success(t).Stdout
		return regexp.MustCompile(`(?m)^  ` + acct + `:\n\s+Resource\s+Used\s+Hard\n.*\n\s+pods\s+0\s+4$`).MatchString(out)
	})

	// completion of Space and Account names, through kubectl's plugin completion.
	assert.ElementsMatch(t, []string{web, db}, tenant.complete(t, "space", "use", ""))
	assert.Equal(t, []string{db}, tenant.complete(t, "space", "delete", acct+"-d"))
	assert.Equal(t, []string{acct}, tenant.complete(t, "space", "create", "x", "--account", ""))
	assert.Equal(t, []string{acct}, tenant.complete(t, "account", "show", ""))

	// use: the current context's namespace, then a new context.
	adminContext, _ := tenant.currentNamespace(t)
	r = tenant.run(t, "space", "use", web).Success(t)
	assert.Equal(t, fmt.Sprintf("Context %q now uses Space %q.\n", adminContext, web), r.Stdout)
	ctxName, ns := tenant.currentNamespace(t)
	assert.Equal(t, adminContext+" "+web, ctxName+" "+ns)
	// kubectl itself now works in the Space, where the tenant has rights and nowhere else.
	tenant.run(t, "get", "configmaps").Success(t)
	r = tenant.run(t, "space", "use", db, "--context-name", db).Success(t)
	assert.Equal(t, fmt.Sprintf("Context %q created for Space %q; it is the current context.\n", db, db), r.Stdout)
	cfg, err := clientcmd.LoadFromFile(tenant.kubeconfig)
	require.NoError(t, err)
	assert.Equal(t, db, cfg.CurrentContext)
	require.Contains(t, cfg.Contexts, db)
	assert.Equal(t, db, cfg.Contexts[db].Namespace)
	assert.Equal(t, cfg.Contexts[adminContext].Cluster, cfg.Contexts[db].Cluster)
	assert.Equal(t, cfg.Contexts[adminContext].AuthInfo, cfg.Contexts[db].AuthInfo)
	assert.Equal(t, web, cfg.Contexts[adminContext].Namespace, "the context copied is left as it was")

	// delete: refused without --yes when there is no terminal to confirm on, done with --yes.
	r = tenant.runWithInput(t, "y\n", "space", "delete", db).Failure(t)
	assert.Equal(t, "error: refusing to delete without confirmation: standard input is not a terminal; pass --yes to delete\n", r.Stderr)
	admin.Run(t, "get", "namespace", db).Success(t)
	r = tenant.run(t, "space", "delete", db, "--yes").Success(t)
	assert.Equal(t, fmt.Sprintf("space.tenancy.kiosk.sh %q deleted\n", db), r.Stdout)
	// delete waited: the Space is gone from the tenant's view when it returns.
	assert.Equal(t, []string{"space.tenancy.kiosk.sh/" + web}, strings.Fields(tenant.run(t, "space", "list", "-o", "name").Success(t).Stdout))
	namespaceGone(t, db)

	// delete on a terminal asks; anything but y or yes keeps the Space.
	question := fmt.Sprintf("Delete Space %q of Account %q and everything in its namespace? [y/N]: ", web, acct)
	r = tenant.runOnTerminal(t, "n\n", "space", "delete", web).Success(t)
	assert.Contains(t, r.Stdout, question)
	assert.Contains(t, r.Stdout, fmt.Sprintf("Space %q not deleted.", web))
	admin.Run(t, "get", "namespace", web).Success(t)
	r = tenant.runOnTerminal(t, "y\n", "space", "delete", web).Success(t)
	assert.Contains(t, r.Stdout, question)
	assert.Contains(t, r.Stdout, fmt.Sprintf("space.tenancy.kiosk.sh %q deleted", web))
	tenant.run(t, "space", "use", web).Failure(t)
	namespaceGone(t, web)
}

// namespaceGone waits until namespace is deleted.
func namespaceGone(t *testing.T, namespace string) {
	t.Helper()
	kube := cluster.AdminClients(t).Kube
	eventually(t, "namespace "+namespace+" is deleted", func(ctx context.Context) bool {
		_, err := kube.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// Each way kubectl space refuses, with the server's own words where the server refused, and
// how to get an Account where the caller has none; a tenant cannot reach another Account's
// Spaces through the plugin either.
func TestPluginSpaceErrors(t *testing.T) {
	bin := buildPlugins(t)
	one, two, other := framework.UniqueName("plugin-one"), framework.UniqueName("plugin-two"), framework.UniqueName("plugin-other")
	user, otherUser, nobody := framework.UniqueName("plugin-u"), framework.UniqueName("plugin-o"), framework.UniqueName("plugin-n")
	admin := cluster.Admin()
	admin.Apply(t, accountYAML(one, user, "    limit: 1\n")).Success(t)
	admin.Apply(t, accountYAML(two, user, "")).Success(t)
	admin.Apply(t, accountYAML(other, otherUser, "")).Success(t)
	kube := cluster.AdminClients(t)
	grantKioskEdit(t, kube, one, user)
	grantKioskEdit(t, kube, other, otherUser)
	grantKioskEdit(t, kube, framework.UniqueName("plugin-nobody"), nobody)
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", "-l", "kiosk.sh/account in ("+one+","+two+","+other+")", "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", one, two, other, "--ignore-not-found").Deleted(t)
		admin.Run(t, "delete", "templates", one, "--ignore-not-found").Deleted(t)
	})
	tenant, attacker := newPluginUser(t, bin, user), newPluginUser(t, bin, otherUser)

	// No Account: how to get one, without a stack trace.
	r := newPluginUser(t, bin, nobody).run(t, "space", "create", nobody).Failure(t)
	assert.Equal(t, "error: you are not a user of any Account, so there is no Account to create a Space for.\n"+
		`Ask a cluster admin to add User "`+nobody+`" (or a group you are in) to the spec.subjects of an Account,`+"\n"+
		"then run this command again.\n", r.Stderr)
	noStackTrace(t, r)
	admin.Run(t, "get", "namespace", nobody).Failure(t)

	// Two Accounts: the error lists them; --account chooses.
	mine := framework.UniqueName("plugin-mine")
	r = tenant.run(t, "space", "create", mine).Failure(t)
	first, second := one, two
	if second < first {
		first, second = second, first
	}
	assert.Equal(t, fmt.Sprintf("error: you are a user of 2 Accounts, choose the one for the Space with --account: %s, %s\n", first, second), r.Stderr)
	admin.Run(t, "get", "namespace", mine).Failure(t)
	tenant.run(t, "space", "create", mine, "--account", one).Success(t)

	// The server's refusals, word for word.
	r = tenant.run(t, "space", "create", mine+"-2", "--account", one).Failure(t)
	assert.Equal(t, fmt.Sprintf("Error from server (Forbidden): spaces.tenancy.kiosk.sh %q is forbidden: space limit of 1 reached for account %s\n", mine+"-2", one), r.Stderr)
	r = tenant.run(t, "space", "create", mine+"-3", "--account", other).Failure(t)
	assert.Equal(t, fmt.Sprintf("Error from server (Forbidden): spaces.tenancy.kiosk.sh %q is forbidden: User %q cannot create spaces for account %q: not a subject of the account\n",
		mine+"-3", user, other), r.Stderr)
	// An Account that does not exist reads as one the tenant is not in: existence does not leak.
	r = tenant.run(t, "space", "create", mine+"-4", "--account", "no-such-account").Failure(t)
	assert.Equal(t, fmt.Sprintf("Error from server (Forbidden): spaces.tenancy.kiosk.sh %q is forbidden: User %q cannot create spaces for account \"no-such-account\": not a subject of the account\n",
		mine+"-4", user), r.Stderr)
	admin.Run(t, "get", "namespace", mine+"-4").Failure(t)
	r = tenant.run(t, "space", "delete", mine, "--yes").Failure(t)
	assert.Equal(t, fmt.Sprintf("Error from server (Forbidden): spaces.tenancy.kiosk.sh %q is forbidden: User %q cannot delete resource \"namespaces\" in API group \"\" in the namespace %q\n",
		mine, user, mine), r.Stderr)
	admin.Run(t, "get", "namespace", mine).Success(t)

	// A mandatory template that fails: the server's report, and no Space left behind.
	admin.Apply(t, fmt.Sprintf(`apiVersion: config.kiosk.sh/v1alpha1
kind: Template
metadata:
  name: %s
parameters:
- name: TEAM
  required: true
resources:
  manifests:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: team
    data:
      team: ${TEAM}
`, one)).Success(t)
	admin.Apply(t, accountYAML(two, user, "    templateInstances:\n    - spec:\n        template: "+one+"\n")).Success(t)
	failed := framework.UniqueName("plugin-failed")
	r = tenant.run(t, "space", "create", failed, "--account", two).Failure(t)
	assert.Equal(t, fmt.Sprintf("Error from server (InternalError): Internal error occurred: space %s: mandatory template instance %s failed: ParameterRequired: parameters[0]: parameter TEAM is required but has no value\n",
		failed, one), r.Stderr)
	eventually(t, "the failed Space's namespace is gone", func(ctx context.Context) bool {
		ns, err := kube.Kube.CoreV1().Namespaces().Get(ctx, failed, metav1.GetOptions{})
		return apierrors.IsNotFound(err) || err == nil && ns.DeletionTimestamp != nil
	})

	// Unknown Spaces and Accounts, and another Account's: NotFound, the kubeconfig untouched.
	before, err := os.ReadFile(tenant.kubeconfig)
	require.NoError(t, err)
	for _, args := range [][]string{
		{"space", "use", "no-such-space"},
		{"space", "use", "no-such-space", "--context-name", "x"},
		{"space", "delete", "no-such-space", "--yes"},
	} {
		r = tenant.run(t, args...).Failure(t)
		assert.Equal(t, "Error from server (NotFound): spaces.tenancy.kiosk.sh \"no-such-space\" not found\n", r.Stderr)
	}
	after, err := os.ReadFile(tenant.kubeconfig)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after))
	for _, args := range [][]string{
		{"space", "use", mine},
		{"space", "delete", mine, "--yes"},
		{"space", "delete", mine, "--yes", "--as-group", "system:authenticated"},
	} {
		r = attacker.run(t, args...).Failure(t)
		assert.Equal(t, fmt.Sprintf("Error from server (NotFound): spaces.tenancy.kiosk.sh %q not found\n", mine), r.Stderr)
	}
	admin.Run(t, "get", "namespace", mine).Success(t)
	r = attacker.run(t, "account", "show", one).Failure(t)
	assert.Equal(t, fmt.Sprintf("Error from server (NotFound): accounts.tenancy.kiosk.sh %q not found\n", one), r.Stderr)
	assert.Equal(t, "account.tenancy.kiosk.sh/"+other+"\n", attacker.run(t, "account", "list", "-o", "name").Success(t).Stdout)
	assert.Empty(t, attacker.complete(t, "space", "use", ""), "completion offers no other Account's Space")
	r = tenant.run(t, "space", "list", "-o", "xml").Failure(t)
	assert.Contains(t, r.Stderr, `error: unable to match a printer suitable for the output format "xml"`)
}

// grantAccountQuotaList lets user list AccountQuotas with a ClusterRole and ClusterRoleBinding
// named name, deleted when the test ends.
func grantAccountQuotaList(t *testing.T, name, user string) {
	t.Helper()
	kube := cluster.AdminClients(t).Kube
	ctx := context.Background()
	_, err := kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"config.kiosk.sh"}, Resources: []string{"accountquotas"}, Verbs: []string{"list"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: user}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		deleted(t, "ClusterRoleBinding "+name, kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{}))
		deleted(t, "ClusterRole "+name, kube.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{}))
	})
}

// TestPluginWalkthrough runs the plugin path of docs/walkthrough.md ("The same as a tenant,
// with the kubectl plugin") as written, with the walkthrough's Accounts and users.
func TestPluginWalkthrough(t *testing.T) {
	bin := buildPlugins(t)
	resetWalkthrough(t)
	t.Cleanup(func() { resetWalkthrough(t) })
	admin := cluster.Admin()
	admin.Apply(t, nodeAccountYAML).Success(t)
	admin.Apply(t, redisAccountYAML).Success(t)
	admin.Apply(t, clusterRoleBindingYAML).Success(t)
	dev, dba := newPluginUser(t, bin, "dev"), newPluginUser(t, bin, "dba")

	assert.Equal(t, "account.tenancy.kiosk.sh/node-account\n", dev.run(t, "account", "list", "-o", "name").Success(t).Stdout)
	out := dev.run(t, "account", "show", "node-account").Success(t).Stdout
	assert.Regexp(t, `(?m)^Users:\s+User dev$`, out)
	assert.Regexp(t, `(?m)^Spaces:\s+0 \(no limit\)$`, out)
	assert.Regexp(t, `(?m)^AccountQuotas:\s+not shown, you may not list them: Error from server \(Forbidden\)`, out)

	assert.Equal(t, "space.tenancy.kiosk.sh/node-space created\n", dev.run(t, "space", "create", "node-space").Success(t).Stdout)
	assert.Equal(t, "space.tenancy.kiosk.sh/redis-space created\n", dba.run(t, "space", "create", "redis-space").Success(t).Stdout)
	r := dev.run(t, "space", "create", "redis-space", "--account", "redis-account").Failure(t)
	assert.Equal(t, `Error from server (Forbidden): spaces.tenancy.kiosk.sh "redis-space" is forbidden: User "dev" cannot create spaces for account "redis-account": not a subject of the account`+"\n", r.Stderr)
	assert.Equal(t, "space.tenancy.kiosk.sh/node-space\n", dev.run(t, "space", "list", "-o", "name").Success(t).Stdout)

	dev.run(t, "space", "use", "node-space").Success(t)
	dev.run(t, "get", "pods").Success(t)
	dev.run(t, "space", "use", "node-space", "--context-name", "node").Success(t)
	context, namespace := dev.currentNamespace(t)
	assert.Equal(t, "node node-space", context+" "+namespace)

	admin.Apply(t, withLimit(nodeAccountYAML)).Success(t)
	dev.run(t, "space", "create", "node-space-2").Success(t)
	r = dev.run(t, "space", "create", "node-space-3").Failure(t)
	assert.Equal(t, `Error from server (Forbidden): spaces.tenancy.kiosk.sh "node-space-3" is forbidden: space limit of 2 reached for account node-account`+"\n", r.Stderr)
	assert.Regexp(t, `(?m)^Spaces:\s+2 of 2$`, dev.run(t, "account", "show", "node-account").Success(t).Stdout)
	r = dev.run(t, "space", "delete", "node-space-2", "--yes").Failure(t)
	assert.Equal(t, `Error from server (Forbidden): spaces.tenancy.kiosk.sh "node-space-2" is forbidden: User "dev" cannot delete resource "namespaces" in API group "" in the namespace "node-space-2"`+"\n", r.Stderr)
}
