package plugin

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// completionTimeout bounds the list a completion makes, so a slow server never hangs a shell.
const completionTimeout = 5 * time.Second

// CompleteNames is a cobra completion of one name argument from the names list gives:
// nothing once the command has its argument, and no file names ever.
func CompleteNames(f *Factory, list ListFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completeFrom(cmd, f, list, toComplete)
	}
}

// CompleteFlagNames is a cobra completion of a flag's value from the names list gives.
func CompleteFlagNames(f *Factory, list ListFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return completeFrom(cmd, f, list, toComplete)
	}
}

func completeFrom(cmd *cobra.Command, f *Factory, list ListFunc, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	all, err := Names(ctx, f, list)
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
