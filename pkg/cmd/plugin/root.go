package plugin

import (
	goflag "flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/version"
)

// completionPrefix starts the name of the executable kubectl runs to complete a plugin's
// arguments: kubectl_complete-space for kubectl space.
const completionPrefix = "kubectl_complete-"

// NewRootCommand is the root command of the plugin that kubectl runs as "kubectl name", with
// every kubectl flag (kubeconfig, context, impersonation, ...) and -v for logs.
func NewRootCommand(name, short, long string, f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   name,
		Short: short,
		Long:  long,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl " + name,
		},
		Version: versionString(version.Get()),
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	f.ConfigFlags.AddFlags(cmd.PersistentFlags())
	klogFlags := goflag.NewFlagSet("klog", goflag.ContinueOnError)
	klog.InitFlags(klogFlags)
	cmd.PersistentFlags().AddGoFlag(klogFlags.Lookup("v"))
	return cmd
}

// Args are the arguments for the root command when the executable runs with argv: its own
// arguments, or, when it runs under the name kubectl looks for to complete the plugin's
// arguments (kubectl_complete-space), cobra's completion request for them.
func Args(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	if strings.HasPrefix(filepath.Base(argv[0]), completionPrefix) {
		return append([]string{cobra.ShellCompRequestCmd}, argv[1:]...)
	}
	return argv[1:]
}

// versionString is the build of the plugin, as --version prints it after "kubectl NAME version".
func versionString(v version.Info) string {
	return fmt.Sprintf("%s (commit %s, built %s, %s)", v.GitVersion, v.GitCommit, v.BuildDate, v.Platform)
}

// OneName accepts exactly one argument, the name of a kind's object, and otherwise says so
// with the command's usage.
func OneName(kind string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 1 {
			return nil
		}
		return fmt.Errorf("expected the name of one %s, got %d arguments\nUsage: %s\nSee '%s -h' for help and examples",
			kind, len(args), cmd.UseLine(), cmd.CommandPath())
	}
}
