// Command registry is an OCI registry on loopback for the local cluster: container images and
// Helm charts (OCI artifacts), in memory, served over TLS and only to one user with a password.
// It embeds go-containerregistry's registry server.
//
// On start it writes, when missing or not valid for the address, a CA and a serving certificate
// into --cert-dir (ca.crt, tls.crt, tls.key); clients trust ca.crt.
//
//	registry --listen=127.0.0.1:5443 --cert-dir=_output/local/registry/certs \
//	  --username=local --password-file=_output/local/registry/password
//
// `registry push` pushes image tarballs to it (see push.go):
//
//	registry push --address=127.0.0.1:5443 --ca-file=_output/local/registry/certs/ca.crt \
//	  --username=local --password-file=_output/local/registry/password _output/images/*.tar
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "push" {
		err = push(os.Args[2:], os.Stdout)
	} else {
		err = run(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "registry: %v\n", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	listen, certDir, username, passwordFile string
}

func parse(args []string) (options, error) {
	fs := flag.NewFlagSet("registry", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.listen, "listen", "127.0.0.1:5443", "loopback host:port to serve on")
	fs.StringVar(&o.certDir, "cert-dir", "", "directory of ca.crt, tls.crt and tls.key, written when missing (required)")
	fs.StringVar(&o.username, "username", "", "the one user allowed (required)")
	fs.StringVar(&o.passwordFile, "password-file", "", "file holding the user's password (required)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var errs []string
	host, _, err := net.SplitHostPort(o.listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		errs = append(errs, fmt.Sprintf("--listen %q: want a loopback IP and a port", o.listen))
	}
	for _, f := range []struct{ flag, value string }{{"--cert-dir", o.certDir}, {"--username", o.username}, {"--password-file", o.passwordFile}} {
		if f.value == "" {
			errs = append(errs, f.flag+" is required")
		}
	}
	if strings.Contains(o.username, ":") {
		errs = append(errs, fmt.Sprintf("--username %q: must not contain ':'", o.username))
	}
	if len(errs) > 0 {
		return o, errors.New(strings.Join(errs, "; "))
	}
	return o, nil
}

func run(args []string) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	logger := log.New(os.Stderr, "registry: ", log.LstdFlags|log.LUTC)
	srv, err := setup(o, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Printf("serving https://%s, CA %s", ln.Addr(), filepath.Join(o.certDir, "ca.crt"))
	if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// setup reads the password, ensures the certificates and returns the server of o.
func setup(o options, logger *log.Logger) (*http.Server, error) {
	password, err := os.ReadFile(o.passwordFile)
	if err != nil {
		return nil, fmt.Errorf("--password-file: %w", err)
	}
	pw := strings.TrimSpace(string(password))
	if pw == "" {
		return nil, fmt.Errorf("--password-file %s: empty password", o.passwordFile)
	}
	host, _, _ := net.SplitHostPort(o.listen)
	cert, err := EnsureCertificates(o.certDir, net.ParseIP(host))
	if err != nil {
		return nil, fmt.Errorf("--cert-dir %s: %w", o.certDir, err)
	}
	return NewServer(Config{Username: o.username, Password: pw, Certificate: cert, Logger: logger}), nil
}
