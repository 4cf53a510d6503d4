// Package account is the kubectl plugin kubectl-account: list the Accounts of tenancy.kiosk.sh
// the caller is a user of, and show one with its limits, quotas and usage.
package account

import (
	"github.com/spf13/cobra"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin"
)

// NewCommand is kubectl account and its subcommands.
func NewCommand(f *plugin.Factory) *cobra.Command {
	cmd := plugin.NewRootCommand("account", "See your Accounts: list them, show one with its limits and quotas",
		`See the Accounts you are a user of (all Accounts, for an admin), with their Space limits,
AccountQuotas and usage as far as you may read them. Every kubectl flag works (--kubeconfig,
--context, --as, --token, ...).`, f)
	cmd.AddCommand(
		plugin.NewListCommand(f, "accounts", "List the Accounts you are a user of",
			"  kubectl account list\n  kubectl account list -o yaml",
			plugin.ListAccounts),
		newShowCommand(f),
	)
	return cmd
}
