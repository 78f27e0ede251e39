//go:build !windows

package iissim

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nomad-iis/nomad-iis/iissim/web"
)

// runWorker is the "worker" subcommand: one worker process of a pool, the
// counterpart of w3wp.exe. It reads its token from stdin, listens on
// 127.0.0.1, prints "LISTEN <address>" and serves the files the service
// sends it to. It exits on SIGTERM (after finishing the requests in
// flight) or when its stdin closes (its service is gone).
func runWorker(args []string) int {
	fs := flag.NewFlagSet("iissim worker", flag.ContinueOnError)
	pool := fs.String("app-pool", "", "application pool name")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	in := bufio.NewReader(os.Stdin)
	line, err := in.ReadString('\n')
	token := strings.TrimSpace(line)
	if err != nil || token == "" {
		fmt.Fprintf(os.Stderr, "iissim worker %s: no token on stdin\n", *pool)
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "iissim worker %s: %v\n", *pool, err)
		return 1
	}
	srv := &http.Server{
		Handler:           web.NewFileHandler(token, os.Getpid(), os.Getenv),
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	if _, err := fmt.Fprintf(os.Stdout, "LISTEN %s\n", ln.Addr()); err != nil {
		return 1
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	gone := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, in)
		close(gone)
	}()
	grace := 10 * time.Second
	select {
	case <-sigs:
	case <-gone:
		grace = time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	_ = srv.Shutdown(ctx)
	return 0
}
