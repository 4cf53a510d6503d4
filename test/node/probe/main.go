// Command probe is the test image of the node suite: it opens a TCP connection to each
// HOST:PORT argument and exits 0 when every one answered, 1 otherwise, printing each result.
// It needs no shell, so it runs in an image of its one static binary.
package main

import (
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	failed := false
	for _, addr := range os.Args[1:] {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			fmt.Printf("%s: %v\n", addr, err)
			failed = true
			continue
		}
		fmt.Printf("%s: connected from %s\n", addr, conn.LocalAddr())
		_ = conn.Close()
	}
	if failed || len(os.Args) < 2 {
		os.Exit(1)
	}
}
