//go:build !windows

package iissim

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// errNotRunning is returned by connectService when no service runs and
// none may be started.
var errNotRunning = errors.New("no iissim service runs for this state directory")

// Bounds of starting the service.
const (
	startLockWait = 60 * time.Second
	serviceStart  = 30 * time.Second
)

// connectService connects to the service of lay's state directory. When
// none runs and self is set, it starts one, detached in its own session so
// that it outlives the caller as IIS outlives the plugin. A lock file makes
// concurrent callers start one service only.
func connectService(self []string, lay layout) (net.Conn, error) {
	if c, err := net.Dial("unix", lay.socket()); err == nil {
		return c, nil
	}
	if len(self) == 0 {
		return nil, errNotRunning
	}
	if err := os.MkdirAll(lay.dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	lock, err := waitLock(lay.startLock(), startLockWait)
	if err != nil {
		return nil, err
	}
	defer func() { _ = lock.Close() }()
	if c, err := net.Dial("unix", lay.socket()); err == nil {
		return c, nil
	}
	exited, err := startService(self, lay)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(serviceStart)
	for {
		c, err := net.Dial("unix", lay.socket())
		if err == nil {
			return c, nil
		}
		select {
		case <-exited:
			// It may have exited because another service holds the state
			// directory and is about to listen; try once more.
			if c, err := net.Dial("unix", lay.socket()); err == nil {
				return c, nil
			}
			return nil, fmt.Errorf("the iissim service exited at start: %s", logTail(lay.serviceLog()))
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the iissim service did not listen within %s: %s", serviceStart, logTail(lay.serviceLog()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startService starts the service process; the channel closes when it exits.
func startService(self []string, lay layout) (<-chan struct{}, error) {
	logf, err := os.OpenFile(lay.serviceLog(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("service log: %w", err)
	}
	defer func() { _ = logf.Close() }()
	args := append(append([]string{}, self[1:]...), "service", "--state-dir", lay.dir)
	cmd := exec.Command(self[0], args...)
	cmd.Dir = lay.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the iissim service: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	return exited, nil
}

// logTail returns the last lines of the service log, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return "see " + path
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.TrimSpace(string(bytes.Join(lines, []byte(" | "))))
}
