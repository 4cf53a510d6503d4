package space

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/plugin"
)

// deletePollInterval is how often delete --wait looks whether the Space is gone.
const deletePollInterval = 500 * time.Millisecond

type deleteOptions struct {
	f       *plugin.Factory
	yes     bool
	wait    bool
	timeout time.Duration
}

func newDeleteCommand(f *plugin.Factory) *cobra.Command {
	o := &deleteOptions{f: f}
	cmd := &cobra.Command{
		Use:   "delete NAME [--yes]",
		Short: "Delete a Space and everything in it",
		Long: `Delete a Space: its namespace and every object in it.

You are asked to confirm on the terminal unless --yes is given; without a terminal (a script, a
pipe) --yes is required. By default the command waits until the Space is gone: until the
server shows you no Space of that name, or a new one.`,
		Example:           "  kubectl space delete web\n  kubectl space delete web --yes --wait=false",
		Args:              plugin.OneName("Space"),
		ValidArgsFunction: plugin.CompleteNames(f, plugin.ListSpaces),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args[0])
		},
	}
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "Delete without asking for confirmation.")
	cmd.Flags().BoolVar(&o.wait, "wait", true, "Wait until the Space is gone.")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 5*time.Minute, "How long --wait waits.")
	return cmd
}

func (o *deleteOptions) run(ctx context.Context, name string) error {
	c, err := o.f.Tenancy()
	if err != nil {
		return err
	}
	spaces := c.TenancyV1alpha1().Spaces()
	s, err := spaces.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if !o.yes {
		ok, err := confirm(o.f.Streams.In, o.f.Streams.ErrOut, fmt.Sprintf(
			"Delete Space %q of Account %q and everything in its namespace? [y/N]: ", name, s.Spec.Account))
		if err != nil {
			return err
		}
		if !ok {
			_, err := fmt.Fprintf(o.f.Streams.Out, "Space %q not deleted.\n", name)
			return err
		}
	}
	if err := spaces.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(o.f.Streams.Out, "space.tenancy.kiosk.sh %q deleted\n", name); err != nil {
		return err
	}
	if !o.wait {
		return nil
	}
	err = wait.PollUntilContextTimeout(ctx, deletePollInterval, o.timeout, true, func(ctx context.Context) (bool, error) {
		now, err := spaces.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return true, nil
		case err != nil:
			return false, err
		}
		return now.UID != s.UID, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for Space %q to be gone: %w", name, err)
	}
	return nil
}

// confirm asks question on out and reads the answer from in, which must be a terminal.
func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	if f, ok := in.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return false, fmt.Errorf("refusing to delete without confirmation: standard input is not a terminal; pass --yes to delete")
	}
	if _, err := fmt.Fprint(out, question); err != nil {
		return false, err
	}
	answer, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return false, fmt.Errorf("reading the confirmation: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
