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
	fmt.Fprintf(w, "Users:\t%s\n", column(subjects(a.Spec.Subjects)))
	fmt.Fprintf(w, "Spaces:\t%s\n", column(spaces(a)))
	fmt.Fprintf(w, "Space ClusterRole:\t%s\n", clusterRole(a.Spec.Space.ClusterRole))
	fmt.Fprintf(w, "Mandatory templates:\t%s\n", templates(a.Spec.Space.TemplateInstances))
	for _, c := range a.Status.Conditions {
		fmt.Fprintf(w, "Condition %s:\t%s (%s) %s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	switch {
	case v.QuotasHidden != "":
		fmt.Fprintf(w, "AccountQuotas:\tnot shown, you may not list them: %s\n", v.QuotasHidden)
	case len(v.Quotas) == 0:
		fmt.Fprintf(w, "AccountQuotas:\t%s\n", none)
	default:
		fmt.Fprintln(w, "AccountQuotas:")
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, q := range v.Quotas {
		if err := describeQuota(out, q); err != nil {
			return err
		}
	}
	return nil
}

// describeQuota writes the hard limits of q and their use summed over the Account's Spaces,
// in a table of its own.
func describeQuota(out io.Writer, q configv1alpha1.AccountQuota) error {
	w := printers.GetNewTabWriter(out)
	fmt.Fprintf(w, "  %s:\n", q.Name)
	hard := q.Spec.Quota.Hard
	if len(hard) == 0 {
		fmt.Fprintf(w, "    %s\n", none)
		return w.Flush()
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
	return w.Flush()
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

// column puts lines one under the other in the value column of a description.
func column(lines []string) string {
	return strings.Join(lines, "\n\t")
}

// spaces is the number of the Account's Spaces against its limit, then their names.
func spaces(a *tenancyv1alpha1.Account) []string {
	n := len(a.Status.Namespaces)
	usage := fmt.Sprintf("%d (no limit)", n)
	if a.Spec.Space.Limit != nil {
		usage = fmt.Sprintf("%d of %d", n, *a.Spec.Space.Limit)
	}
	out := []string{usage}
	for _, ns := range a.Status.Namespaces {
		out = append(out, ns.Name)
	}
	return out
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
