package space

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
)

func newSleepCommand(f *plugin.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "sleep NAME",
		Short: "Put a Space to sleep now, until it is woken",
		Long: `Put a Space to sleep now: its Deployments, StatefulSets, ReplicaSets and
ReplicationControllers are scaled to zero and its CronJobs suspended, until kubectl space wake.
It sets the Space's sleepmode.loft.sh/force annotation; activity does not wake a Space put to
sleep this way. See docs/sleep.md.`,
		Example:           "  kubectl space sleep web\n  kubectl space list   # PHASE says Sleeping",
		Args:              plugin.OneName("Space"),
		ValidArgsFunction: plugin.CompleteNames(f, plugin.ListSpaces),
		RunE: func(cmd *cobra.Command, args []string) error {
			return setForce(cmd.Context(), f, args[0], true)
		},
	}
}

func newWakeCommand(f *plugin.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "wake NAME",
		Short: "Wake a Space that kubectl space sleep put to sleep",
		Long: `Wake a Space put to sleep by kubectl space sleep (or the sleepmode.loft.sh/force
annotation): its workloads get back the replicas they had and its CronJobs are resumed. It
removes the force annotation. A Space asleep because it was idle wakes on any write in it.`,
		Example:           "  kubectl space wake web",
		Args:              plugin.OneName("Space"),
		ValidArgsFunction: plugin.CompleteNames(f, plugin.ListSpaces),
		RunE: func(cmd *cobra.Command, args []string) error {
			return setForce(cmd.Context(), f, args[0], false)
		},
	}
}

// forcePatch is the merge patch that sets (on) or removes the force annotation.
func forcePatch(on bool) ([]byte, error) {
	var value interface{}
	if on {
		value = "true"
	}
	return json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{
		"annotations": map[string]interface{}{sleep.Force: value}}})
}

func setForce(ctx context.Context, f *plugin.Factory, name string, on bool) error {
	c, err := f.Tenancy()
	if err != nil {
		return err
	}
	patch, err := forcePatch(on)
	if err != nil {
		return err
	}
	if _, err := c.TenancyV1alpha1().Spaces().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return err
	}
	what := "put to sleep"
	if !on {
		what = "woken"
	}
	_, err = fmt.Fprintf(f.Streams.Out, "space.tenancy.kiosk.sh/%s %s\n", name, what)
	return err
}
