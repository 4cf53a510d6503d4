package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
)

// Main runs the plugin whose command newCommand makes, with the process's arguments and
// standard streams, and returns its exit code.
func Main(newCommand func(*Factory) *cobra.Command) int {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	// The server's warnings read "Warning: …", as kubectl prints them.
	rest.SetDefaultWarningHandler(rest.NewWarningWriter(streams.ErrOut, rest.WarningWriterOptions{Deduplicate: true}))
	cmd := newCommand(NewFactory(streams))
	cmd.SetArgs(Args(os.Args))
	return Run(cmd, streams.ErrOut)
}

// Run executes cmd until it ends or an interrupt cancels it, and returns the exit code: 0, or
// 1 after the error was printed to errOut as kubectl prints it. The server's own message is
// printed as it came, never re-worded.
func Run(cmd *cobra.Command, errOut io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(errOut, ErrorMessage(err))
		return 1
	}
	return 0
}

// ErrorMessage is err as kubectl prints it: "Error from server (Reason): message" for an error
// the API server answered, "error: message" for any other.
func ErrorMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		s := status.Status()
		switch {
		case s.Reason == metav1.StatusReasonUnauthorized:
			return fmt.Sprintf("error: You must be logged in to the server (%s)", s.Message)
		case s.Reason != "":
			return fmt.Sprintf("Error from server (%s): %s", s.Reason, err.Error())
		default:
			return "Error from server: " + err.Error()
		}
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "error: ") {
		return msg
	}
	return "error: " + msg
}
