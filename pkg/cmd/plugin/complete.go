package plugin

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// completionTimeout bounds the list a completion makes, so a slow server never hangs a shell.
const completionTimeout = 5 * time.Second

// NamesFunc lists the names of the objects the caller may see.
type NamesFunc func(ctx context.Context, f *Factory) ([]string, error)

// SpaceNames are the names of the Spaces the caller sees.
func SpaceNames(ctx context.Context, f *Factory) ([]string, error) {
	c, err := f.Tenancy()
	if err != nil {
		return nil, err
	}
	l, err := c.TenancyV1alpha1().Spaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(l.Items))
	for _, s := range l.Items {
		names = append(names, s.Name)
	}
	return names, nil
}

// AccountNames are the names of the Accounts the caller sees.
func AccountNames(ctx context.Context, f *Factory) ([]string, error) {
	c, err := f.Tenancy()
	if err != nil {
		return nil, err
	}
	l, err := c.TenancyV1alpha1().Accounts().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(l.Items))
	for _, a := range l.Items {
		names = append(names, a.Name)
	}
	return names, nil
}

// CompleteNames is a cobra completion of one name argument from names: nothing once the
// command has its argument, and no file names ever.
func CompleteNames(f *Factory, names NamesFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completeFrom(cmd, f, names, toComplete)
	}
}

// CompleteFlagNames is a cobra completion of a flag's value from names.
func CompleteFlagNames(f *Factory, names NamesFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return completeFrom(cmd, f, names, toComplete)
	}
}

func completeFrom(cmd *cobra.Command, f *Factory, names NamesFunc, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	all, err := names(ctx, f)
	if err != nil {
		cobra.CompDebugln(ErrorMessage(err), true)
		return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, n := range all {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
