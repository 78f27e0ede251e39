//go:build !windows

package iissim

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// workerProc is one worker process (iissim's w3wp) as the service sees it.
// The worker reads its token from stdin and keeps stdin open: when the
// service dies, the pipe closes and the worker exits, so no worker outlives
// its service.
type workerProc struct {
	pid   int
	start time.Time
	// addr is the worker's 127.0.0.1 listen address.
	addr string
	// token authenticates the service's requests to the worker.
	token string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	// exited is closed once the process has exited and was reaped.
	exited chan struct{}

	// termOnce guards the one termination sequence.
	termOnce sync.Once
	// leases are the requests handed to the worker and not answered yet.
	leases leases
}

// spawnSpec says how to start a worker.
type spawnSpec struct {
	self     []string
	pool     string
	env      []ps.EnvVar
	startup  time.Duration
	stderr   io.Writer
	onExited func(*workerProc, error)
}

// spawnWorker starts a worker and waits until it listens, at most the
// pool's startup time limit (IIS's processModel.startupTimeLimit).
func spawnWorker(ctx context.Context, spec spawnSpec) (*workerProc, error) {
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return nil, fmt.Errorf("worker token: %w", err)
	}
	args := append(append([]string{}, spec.self[1:]...), "worker", "--app-pool", spec.pool)
	cmd := exec.Command(spec.self[0], args...)
	cmd.Env = workerEnv(os.Environ(), spec.pool, spec.env)
	cmd.Stderr = spec.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start worker of %q: %w", spec.pool, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start worker of %q: %w", spec.pool, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker of %q: %w", spec.pool, err)
	}
	w := &workerProc{
		pid:    cmd.Process.Pid,
		start:  time.Now().UTC(),
		token:  hex.EncodeToString(tok),
		cmd:    cmd,
		stdin:  stdin,
		exited: make(chan struct{}),
	}
	go func() {
		err := cmd.Wait()
		close(w.exited)
		if spec.onExited != nil {
			spec.onExited(w, err)
		}
	}()
	if _, err := io.WriteString(stdin, w.token+"\n"); err != nil {
		w.kill()
		return nil, fmt.Errorf("start worker of %q: %w", spec.pool, err)
	}
	addr := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		addr <- strings.TrimSpace(strings.TrimPrefix(line, "LISTEN "))
		// Keep reading so that a worker that prints does not block.
		_, _ = io.Copy(io.Discard, r)
	}()
	timer := time.NewTimer(spec.startup)
	defer timer.Stop()
	select {
	case a := <-addr:
		if a == "" {
			w.kill()
			return nil, fmt.Errorf("worker %d of %q exited during start-up", w.pid, spec.pool)
		}
		w.addr = a
		return w, nil
	case <-timer.C:
		w.kill()
		return nil, fmt.Errorf("worker %d of %q did not start within the startup time limit of %s", w.pid, spec.pool, spec.startup)
	case <-ctx.Done():
		w.kill()
		return nil, fmt.Errorf("start worker of %q: %w", spec.pool, ctx.Err())
	}
}

// workerEnv is the environment of a worker: the service's own (as w3wp
// inherits the machine's), the pool's variables over it, and APP_POOL_ID
// as IIS sets it.
func workerEnv(base []string, pool string, vars []ps.EnvVar) []string {
	over := map[string]string{}
	var order []string
	set := func(k, v string) {
		uk := strings.ToUpper(k)
		if _, ok := over[uk]; !ok {
			order = append(order, uk)
		}
		over[uk] = k + "=" + v
	}
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			set(k, v)
		}
	}
	for _, e := range vars {
		set(e.Name, e.Value)
	}
	set("APP_POOL_ID", pool)
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, over[k])
	}
	return out
}

// terminate asks the worker to stop (SIGTERM) and kills it when it has not
// exited within limit, as WAS does after shutdownTimeLimit. It returns at
// once; exited closes when the process is gone.
func (w *workerProc) terminate(limit time.Duration) {
	w.termOnce.Do(func() {
		if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			w.kill()
			return
		}
		go func() {
			t := time.NewTimer(limit)
			defer t.Stop()
			select {
			case <-w.exited:
			case <-t.C:
				w.kill()
			}
		}()
	})
}

// kill ends the worker at once.
func (w *workerProc) kill() {
	_ = w.cmd.Process.Kill()
	_ = w.stdin.Close()
}

// alive reports whether the process has not exited yet.
func (w *workerProc) alive() bool {
	select {
	case <-w.exited:
		return false
	default:
		return true
	}
}
