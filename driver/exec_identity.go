package driver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// The identity an exec runs as is the one of the task's default
// application pool, taken from a running worker process of that pool: its
// primary token on Windows, its user and group on iissim. One way works for
// every identity IIS has (ApplicationPoolIdentity's virtual account, the
// built-in accounts, a SpecificUser or gMSA account) and needs no password.
// When the pool runs no worker (an OnDemand pool before its first request
// or after its idle timeout), one request to the site starts one, as IIS
// starts workers: on demand.

// execWorkerPoll is how often the pool is read while its first worker starts.
const execWorkerPoll = 100 * time.Millisecond

// execPool is the IIS name of the pool whose identity exec runs as: the
// task's default pool (the one of its root application).
func (h *taskHandle) execPool() string {
	if name, ok := h.state.AppPools[h.state.DefaultAppPool]; ok {
		return name
	}
	names := h.state.poolNames()
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// poolIdentity obtains the identity of the task's default pool from one of
// its running workers, starting one first when none runs. A stopped pool is
// an error that says how to start it.
func (h *taskHandle) poolIdentity(ctx context.Context) (*execIdentity, error) {
	pool := h.execPool()
	if pool == "" {
		return nil, fmt.Errorf("%w: the task has no application pool", ErrExecUnavailable)
	}
	ctx, cancel := context.WithTimeout(ctx, h.callTimeout)
	defer cancel()
	pid, err := h.poolWorker(ctx, pool)
	if err != nil {
		return nil, err
	}
	ident, err := identityOfWorker(pid, pool)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot obtain the identity of application pool %s from its worker process %d: %v (the plugin must run as an administrator, LocalSystem, or root on iissim with another user; or set exec_as_agent = true in the plugin config to run exec as the agent's own account)", ErrExecUnavailable, pool, pid, err)
	}
	return ident, nil
}

// poolWorker returns the PID of a running worker of pool, starting one
// with a request to the site when none runs.
func (h *taskHandle) poolWorker(ctx context.Context, pool string) (int, error) {
	woken := false
	for {
		p, err := h.client().GetAppPool(ctx, pool)
		if err != nil {
			if ctx.Err() != nil && woken {
				return 0, fmt.Errorf("%w: application pool %s started no worker process within %s after a request to its site; check the site's bindings and the pool's event log, then retry", ErrExecUnavailable, pool, h.callTimeout)
			}
			return 0, fmt.Errorf("%w: cannot read application pool %s: %v", ErrExecUnavailable, pool, err)
		}
		if p.State == ps.StateStarting {
			// Started a moment ago (a START signal, a recycle): wait for it.
			select {
			case <-ctx.Done():
				return 0, fmt.Errorf("%w: application pool %s did not finish starting within %s; retry", ErrExecUnavailable, pool, h.callTimeout)
			case <-time.After(execWorkerPoll):
			}
			continue
		}
		if p.State != ps.StateStarted {
			return 0, fmt.Errorf("%w: application pool %s is %s: exec runs as the pool's identity, which needs a running worker process; start the pool (nomad alloc signal -s START <alloc> <task>, or the Management API's start route) and retry, or set exec_as_agent = true in the plugin config to run exec as the agent's own account", ErrExecUnavailable, pool, strings.ToLower(p.State))
		}
		if pid := newestWorker(p.WorkerProcesses); pid != 0 {
			return pid, nil
		}
		if !woken {
			if err := h.wakePool(ctx, pool); err != nil {
				return 0, fmt.Errorf("%w: application pool %s runs no worker process and a request to its site to start one failed: %v; send a request to the site and retry", ErrExecUnavailable, pool, err)
			}
			woken = true
			continue
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%w: application pool %s started no worker process within %s after a request to its site; check the site's bindings and the pool's event log, then retry", ErrExecUnavailable, pool, h.callTimeout)
		case <-time.After(execWorkerPoll):
		}
	}
}

// newestWorker is the PID of the most recently started running worker (the
// one a recycle left), or 0.
func newestWorker(ws []ps.WorkerProcess) int {
	running := make([]ps.WorkerProcess, 0, len(ws))
	for _, w := range ws {
		if w.ProcessID > 0 && (w.State == "" || w.State == "Running" || w.State == "Starting") {
			running = append(running, w)
		}
	}
	if len(running) == 0 {
		return 0
	}
	sort.Slice(running, func(i, j int) bool { return running[i].StartTime.After(running[j].StartTime) })
	return running[0].ProcessID
}

// wakePool sends one request to an application that pool serves, through
// the site's first binding that can be reached from this machine, so that
// IIS (or iissim) starts a worker. Any HTTP answer counts: the worker
// starts when the request arrives, whatever the application answers.
func (h *taskHandle) wakePool(ctx context.Context, pool string) error {
	site, err := h.client().GetWebsite(ctx, h.state.SiteName)
	if err != nil {
		return fmt.Errorf("read website %s: %w", h.state.SiteName, err)
	}
	path := ""
	for _, a := range site.Applications {
		if strings.EqualFold(a.AppPool, pool) {
			path = a.Path
			break
		}
	}
	if path == "" {
		return fmt.Errorf("no application of website %s uses the pool", h.state.SiteName)
	}
	var errs []error
	for _, b := range site.Bindings {
		if b.Protocol != "http" && b.Protocol != "https" {
			continue
		}
		if err := wakeRequest(ctx, b, path); err != nil {
			errs = append(errs, err)
			continue
		}
		return nil
	}
	if len(errs) == 0 {
		return fmt.Errorf("website %s has no http or https binding", h.state.SiteName)
	}
	return errors.Join(errs...)
}

// wakeRequest sends GET path to binding b from this machine: to its
// address (loopback for "*"), with its host name as Host header and TLS
// server name. The certificate is not checked: nothing of the answer is
// used.
func wakeRequest(ctx context.Context, b ps.Binding, path string) error {
	ip := b.IPAddress
	if ip == "" || ip == "*" || ip == "0.0.0.0" {
		ip = "127.0.0.1"
	}
	ip = strings.Trim(ip, "[]")
	if ip == "::" {
		ip = "::1"
	}
	url := b.Protocol + "://" + net.JoinHostPort(ip, strconv.Itoa(b.Port)) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("request %s: %w", url, err)
	}
	if b.Hostname != "" {
		req.Host = b.Hostname
	}
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			// Only the request's arrival matters; the answer is discarded.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true, ServerName: b.Hostname}, //nolint:gosec // see above
			DisableKeepAlives: true,
			Proxy:             nil,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("request %s: %w", url, err)
	}
	return resp.Body.Close()
}
