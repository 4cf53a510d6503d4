package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
)

// The listener answers one line per connection, and probe reports reachable and unreachable
// addresses with their exit code.
func TestServeAndProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var log bytes.Buffer
	go func() { done <- serve(ctx, l, &log) }()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	_ = conn.Close()
	if err != nil || !strings.HasPrefix(line, "standin ") {
		t.Errorf("answer = %q, %v; want a line starting with \"standin \"", line, err)
	}

	var out, errOut bytes.Buffer
	if code := run([]string{"probe", addr}, &out, &errOut); code != 0 || !strings.Contains(out.String(), addr+": reachable from ") {
		t.Errorf("probe of the listener: code %d, output %q %q", code, out.String(), errOut.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after cancel: %v", err)
	}
	out.Reset()
	if code := run([]string{"probe", "-timeout=2s", addr}, &out, &errOut); code != 1 || !strings.Contains(out.String(), addr+": unreachable: ") {
		t.Errorf("probe of a closed port: code %d, output %q", code, out.String())
	}
	if code := run([]string{"probe"}, &out, &errOut); code != 2 {
		t.Errorf("probe without an address: code %d, want 2", code)
	}
}
