// Command kubectl-account is the kubectl plugin "kubectl account": list the caller's Accounts
// and show one. Run under the name kubectl_complete-account, it completes its own arguments.
package main

import (
	"os"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin/account"
)

func main() {
	os.Exit(plugin.Main(account.NewCommand))
}
