// Command kubectl-space is the kubectl plugin "kubectl space": list, create, use and delete
// Spaces. Run under the name kubectl_complete-space, it completes its own arguments.
package main

import (
	"os"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin/space"
)

func main() {
	os.Exit(plugin.Main(space.NewCommand))
}
