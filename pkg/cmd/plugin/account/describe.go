package account

import (
	"fmt"
	"io"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/cli-runtime/pkg/printers"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
)

// none is what a field without a value shows, as kubectl describe shows it.
const none = "<none>"

// View is an Account with what its caller may read of its AccountQuotas.
type View struct {
	Account *tenancyv1alpha1.Account
	// Quotas are the Account's AccountQuotas.
	Quotas []configv1alpha1.AccountQuota
	// QuotasHidden, when set, is why the AccountQuotas could not be read: the server's error.
	QuotasHidden string
}

// Describe writes v in the manner of kubectl describe.
func (v View) Describe(out io.Writer) error {
	w := printers.GetNewTabWriter(out)
	a := v.Account
	fmt.Fprintf(w, "Name:\t%s\n", a.Name)
	fmt.Fprintf(w, "Users:\t%s\n", indentLines(subjects(a.Spec.Subjects)))
	fmt.Fprintf(w, "Spaces:\t%s\n", spaceUsage(a))
	for _, ns := range a.Status.Namespaces {
		fmt.Fprintf(w, "  %s\t\n", ns.Name)
	}
	fmt.Fprintf(w, "Space ClusterRole:\t%s\n", clusterRole(a.Spec.Space.ClusterRole))
	fmt.Fprintf(w, "Mandatory templates:\t%s\n", templates(a.Spec.Space.TemplateInstances))
	switch {
	case v.QuotasHidden != "":
		fmt.Fprintf(w, "AccountQuotas:\tnot shown, you may not list them: %s\n", v.QuotasHidden)
	case len(v.Quotas) == 0:
		fmt.Fprintf(w, "AccountQuotas:\t%s\n", none)
	default:
		fmt.Fprintln(w, "AccountQuotas:")
		for _, q := range v.Quotas {
			describeQuota(w, q)
		}
	}
	for _, c := range a.Status.Conditions {
		fmt.Fprintf(w, "Condition %s:\t%s (%s) %s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	return w.Flush()
}

// describeQuota writes the hard limits of q and their use summed over the Account's Spaces.
func describeQuota(w io.Writer, q configv1alpha1.AccountQuota) {
	fmt.Fprintf(w, "  %s:\n", q.Name)
	hard := q.Spec.Quota.Hard
	if len(hard) == 0 {
		fmt.Fprintf(w, "    %s\t\n", none)
		return
	}
	fmt.Fprintln(w, "    Resource\tUsed\tHard")
	fmt.Fprintln(w, "    --------\t----\t----")
	names := make([]string, 0, len(hard))
	for r := range hard {
		names = append(names, string(r))
	}
	sort.Strings(names)
	for _, r := range names {
		h := hard[corev1.ResourceName(r)]
		used := "0"
		if u, ok := q.Status.Total.Used[corev1.ResourceName(r)]; ok {
			used = u.String()
		}
		fmt.Fprintf(w, "    %s\t%s\t%s\n", r, used, h.String())
	}
}

func subjects(ss []rbacv1.Subject) []string {
	if len(ss) == 0 {
		return []string{none}
	}
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		name := s.Name
		if s.Kind == rbacv1.ServiceAccountKind && s.Namespace != "" {
			name = s.Namespace + "/" + s.Name
		}
		out = append(out, s.Kind+" "+name)
	}
	return out
}

// indentLines puts every line after the first under the first one's column.
func indentLines(lines []string) string {
	return strings.Join(lines, "\n\t")
}

func spaceUsage(a *tenancyv1alpha1.Account) string {
	n := len(a.Status.Namespaces)
	if a.Spec.Space.Limit == nil {
		return fmt.Sprintf("%d (no limit)", n)
	}
	return fmt.Sprintf("%d of %d", n, *a.Spec.Space.Limit)
}

func clusterRole(role *string) string {
	switch {
	case role == nil:
		return "admin"
	case *role == "":
		return none
	}
	return *role
}

func templates(tis []configv1alpha1.AccountTemplateInstanceTemplate) string {
	if len(tis) == 0 {
		return none
	}
	out := make([]string, 0, len(tis))
	for _, ti := range tis {
		out = append(out, ti.Spec.Template)
	}
	return strings.Join(out, ", ")
}
