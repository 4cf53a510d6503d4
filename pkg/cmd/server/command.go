package server

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	cliflag "k8s.io/component-base/cli/flag"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/term"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/version"
)

// NewCommand returns the tenancy-apiserver command.
func NewCommand(ctx context.Context, o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenancy-apiserver",
		Short: "Soft multi-tenancy for Kubernetes: Accounts, Spaces, AccountQuotas and Templates",
		Long: `tenancy-apiserver serves the config.kiosk.sh and tenancy.kiosk.sh APIs as an aggregated
API server. Cluster admins define Accounts with limits, quotas and templates; Account users
create their own namespaces as Spaces and see only their own Spaces and Accounts.`,
		SilenceUsage: true,
		RunE: func(c *cobra.Command, _ []string) error {
			if o.PrintVersion {
				_, err := fmt.Fprintln(o.Stdout, version.Get())
				return err
			}
			// Logging is set up once per process, before anything logs.
			if err := logsapi.ValidateAndApply(o.Logs, utilfeature.DefaultFeatureGate); err != nil {
				return err
			}
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
		Args: cobra.NoArgs,
	}
	cmd.SetContext(ctx)
	fss := o.Flags()
	fs := cmd.Flags()
	for _, f := range fss.FlagSets {
		fs.AddFlagSet(f)
	}
	cols, _, _ := term.TerminalSize(cmd.OutOrStdout())
	cliflag.SetUsageAndHelpFunc(cmd, fss, cols)
	return cmd
}
