// Command kubectl-account is the kubectl plugin "kubectl account": list the caller's Accounts
// and show one. Run under the name kubectl_complete-account, it completes its own arguments.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin/account"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	cmd := account.NewCommand(plugin.NewFactory(streams))
	cmd.SetArgs(plugin.Args(os.Args))
	os.Exit(plugin.Run(cmd, streams.ErrOut))
}
