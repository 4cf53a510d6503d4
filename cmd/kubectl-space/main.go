// Command kubectl-space is the kubectl plugin "kubectl space": list, create, use and delete
// Spaces. Run under the name kubectl_complete-space, it completes its own arguments.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin/space"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	cmd := space.NewCommand(plugin.NewFactory(streams))
	cmd.SetArgs(plugin.Args(os.Args))
	os.Exit(plugin.Run(cmd, streams.ErrOut))
}
