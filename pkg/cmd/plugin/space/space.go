// Package space is the kubectl plugin kubectl-space: list, create, use, delete, sleep and wake
// the Spaces of tenancy.kiosk.sh as a tenant sees them.
package space

import (
	"github.com/spf13/cobra"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin"
)

// NewCommand is kubectl space and its subcommands.
func NewCommand(f *plugin.Factory) *cobra.Command {
	cmd := plugin.NewRootCommand("space", "Work with your Spaces: list, create, use, delete, sleep and wake them",
		`Work with the Spaces (namespaces owned by an Account) that you may use.

A tenant who may not list namespaces sees their own Spaces here, creates Spaces for their
Accounts, and points the kubeconfig at one. Every kubectl flag works (--kubeconfig, --context,
--as, --token, ...).`, f)
	cmd.AddCommand(
		plugin.NewListCommand(f, "spaces", "List the Spaces you may use",
			"  kubectl space list\n  kubectl space list -o wide\n  kubectl space list -o name",
			plugin.ListSpaces),
		newCreateCommand(f),
		newUseCommand(f),
		newDeleteCommand(f),
		newSleepCommand(f),
		newWakeCommand(f),
	)
	return cmd
}
