package scenarios

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// NoopWebhook is a webhook that admits every review unchanged, served by a process of its
// own (ServeNoop), so that the baseline does not share the scenario's process, whose callers
// load it, when the product's webhooks have a server of their own.
type NoopWebhook struct {
	// URL is where kube-apiserver sends reviews; CA is the PEM of its serving certificate.
	URL string
	CA  []byte
	// calls is the process's plain loopback address that answers how many reviews it took.
	calls string
	cmd   *exec.Cmd
	stdin io.Closer
}

// noopAddresses is the line ServeNoop writes once it serves.
type noopAddresses struct {
	URL   string `json:"url"`
	CA    string `json:"ca"`
	Calls string `json:"calls"`
}

// StartNoop starts argv, a command that runs ServeNoop with caFile (the CA of
// kube-apiserver's webhook client certificate), and waits until it serves. The process ends
// when Close is called or when the scenario's process ends (its stdin closes).
func StartNoop(ctx context.Context, argv []string) (*NoopWebhook, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the no-op webhook: %w", err)
	}
	n := &NoopWebhook{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var addr noopAddresses
	if err == nil {
		err = json.Unmarshal([]byte(line), &addr)
	}
	if err != nil {
		_ = n.Close()
		return nil, fmt.Errorf("the no-op webhook did not say where it serves: %w", err)
	}
	n.URL, n.CA, n.calls = addr.URL, []byte(addr.CA), addr.Calls
	return n, nil
}

// Calls is how many reviews the webhook has answered.
func (n *NoopWebhook) Calls(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.calls+"/calls", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
}

// Close ends the webhook's process and waits for it.
func (n *NoopWebhook) Close() error {
	_ = n.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- n.cmd.Wait() }()
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		return <-done
	}
}

// ServeNoop serves reviews that admit everything unchanged, over TLS on loopback, asking for
// and verifying kube-apiserver's webhook client certificate (signed by caFile) as the
// product's webhooks do, and the number answered on a plain loopback port. It writes both
// addresses as one JSON line to out, and serves until in closes.
func ServeNoop(caFile string, in io.Reader, out io.Writer) error {
	var calls atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		review := &admissionv1.AdmissionReview{}
		if err := json.NewDecoder(r.Body).Decode(review); err != nil || review.Request == nil {
			http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		calls.Add(1)
		review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
		review.Request = nil
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(review)
	}))
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return fmt.Errorf("%s holds no certificate", caFile)
	}
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12}
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	counter := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, calls.Load())
	})}
	go func() { _ = counter.Serve(ln) }()
	defer func() { _ = counter.Close() }()

	line, err := json.Marshal(noopAddresses{URL: srv.URL, Calls: ln.Addr().String(),
		CA: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(out, "%s\n", line); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, in); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}
