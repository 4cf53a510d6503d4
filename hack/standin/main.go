// Command standin is the stand-in workload of the local node's images: one static binary,
// no shell, so an image of it alone runs under Pod Security "restricted".
//
//	standin [serve] [ADDR]          listen on ADDR (default :8080, or $STANDIN_ADDR) and answer
//	                                every TCP connection with one line naming the host, then close
//	standin probe [-timeout D] HOST:PORT...
//	                                connect once to each HOST:PORT (a shell-free ping) and exit 0
//	                                when every one answered, 1 otherwise, printing each result
//
// It stops on SIGTERM or SIGINT, so a Pod of it ends at once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is the command with its arguments, and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "serve" || args[0] == "probe") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "probe":
		return probe(args, stdout, stderr)
	default:
		addr := os.Getenv("STANDIN_ADDR")
		if len(args) > 0 {
			addr = args[0]
		}
		if addr == "" {
			addr = ":8080"
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		l, err := net.Listen("tcp", addr)
		if err == nil {
			err = serve(ctx, l, stdout)
		}
		if err != nil {
			fmt.Fprintf(stderr, "standin: %v\n", err)
			return 1
		}
		return 0
	}
}

// serve answers on l until ctx ends, and closes l.
func serve(ctx context.Context, l net.Listener, log io.Writer) error {
	host, _ := os.Hostname()
	// Connections are answered concurrently; their log lines are written one at a time.
	var mu sync.Mutex
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(log, format, args...)
	}
	logf("standin: listening on %s\n", l.Addr())
	go func() {
		<-ctx.Done()
		_ = l.Close()
	}()
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			continue
		}
		go func() {
			defer conn.Close()
			_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(conn, "standin %s\n", host)
			logf("standin: answered %s\n", conn.RemoteAddr())
		}()
	}
}

// probe connects once to each address of args.
func probe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for each connection")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: standin probe [-timeout D] HOST:PORT...")
		return 2
	}
	code := 0
	for _, addr := range fs.Args() {
		conn, err := net.DialTimeout("tcp", addr, *timeout)
		if err != nil {
			fmt.Fprintf(stdout, "%s: unreachable: %v\n", addr, err)
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: reachable from %s\n", addr, conn.LocalAddr())
		_ = conn.Close()
	}
	return code
}
