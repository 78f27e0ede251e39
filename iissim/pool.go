//go:build !windows

package iissim

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nomad-iis/nomad-iis/iissim/web"
	"github.com/nomad-iis/nomad-iis/ps"
)

// spawner starts workers for every pool of one service and keeps the list
// of live workers, so that the service can end them all when it stops.
type spawner struct {
	self   []string
	stderr io.Writer
	log    hclog.Logger
	// minute is how long one minute of the pools' minute-granular timers
	// (idle timeout, periodic restart) lasts: a minute, unless
	// IISSIM_MINUTE (a Go duration) shortens it. IIS takes those settings
	// in whole minutes only (ps/iisrules), so tests of the timers run
	// them on a shorter minute instead of on values IIS would refuse.
	minute time.Duration

	// mu guards procs.
	mu    sync.Mutex
	procs map[int]*workerProc
}

func newSpawner(self []string, stderr io.Writer, log hclog.Logger) *spawner {
	return &spawner{self: self, stderr: stderr, log: log, minute: time.Minute, procs: map[int]*workerProc{}}
}

// minutes converts a configured duration into the time the timers wait,
// with one minute lasting s.minute.
func (s *spawner) minutes(d time.Duration) time.Duration {
	return d/time.Minute*s.minute + (d%time.Minute)*s.minute/time.Minute
}

// all returns the live workers of every pool.
func (s *spawner) all() []*workerProc {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*workerProc, 0, len(s.procs))
	for _, w := range s.procs {
		out = append(out, w)
	}
	return out
}

// poolRun is the runtime of one application pool, what WAS keeps for it:
// its state and its worker processes.
type poolRun struct {
	name string
	sp   *spawner

	// mu guards the fields below.
	mu  sync.Mutex
	cfg *poolConfig
	// state is one of the ps.State* constants.
	state string
	// workers serve requests, in round-robin order.
	workers []*workerProc
	// draining are workers being shut down (state Stopping).
	draining []*workerProc
	next     int
	// filling is closed when the worker start in progress ends; nil when none.
	filling chan struct{}
	fillErr error
	// stopped is closed when the stop in progress has ended.
	stopped chan struct{}
	// lastRequest drives the idle timeout.
	lastRequest time.Time
	recycling   bool
	// crashes are the recent unexpected worker exits (rapid-fail protection).
	crashes []time.Time
	// crashCount counts every unexpected worker exit (AppPool.WorkerCrashes).
	crashCount int
	// stopReason is ps.StopReasonRapidFailProtection while rapid-fail
	// protection holds the pool stopped.
	stopReason string
}

func newPoolRun(cfg *poolConfig, sp *spawner) *poolRun {
	return &poolRun{name: cfg.Name, sp: sp, cfg: cfg, state: ps.StateStopped}
}

// setConfig replaces the pool's configuration.
func (p *poolRun) setConfig(cfg *poolConfig) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg = cfg
}

// start starts the pool; an AlwaysRunning pool starts its workers at once,
// an OnDemand pool on its first request.
func (p *poolRun) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == ps.StateStarted {
		return
	}
	p.state = ps.StateStarted
	p.stopReason = ""
	if p.cfg.startMode() == "AlwaysRunning" {
		p.fillLocked()
	}
}

// fillLocked starts the workers the pool lacks, in the background. The
// caller holds p.mu.
func (p *poolRun) fillLocked() {
	if p.filling != nil {
		return
	}
	n := p.cfg.maxProcesses() - len(p.workers)
	if n <= 0 {
		return
	}
	done := make(chan struct{})
	p.filling = done
	go p.fill(n, done)
}

// fill starts n workers and adds them to the pool if it still serves.
func (p *poolRun) fill(n int, done chan struct{}) {
	news, err := p.spawnN(n)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range news {
		if p.state == ps.StateStarted && len(p.workers) < p.cfg.maxProcesses() {
			p.workers = append(p.workers, w)
			continue
		}
		p.draining = append(p.draining, w)
		w.terminate(p.cfg.shutdownTimeLimit())
	}
	p.fillErr = err
	if len(news) > 0 {
		p.lastRequest = time.Now()
	}
	p.filling = nil
	close(done)
}

// spawnN starts n workers in parallel; it returns those that started and
// the first error.
func (p *poolRun) spawnN(n int) ([]*workerProc, error) {
	p.mu.Lock()
	spec := spawnSpec{
		self:     p.sp.self,
		pool:     p.name,
		env:      slices.Clone(p.cfg.EnvironmentVariables),
		startup:  p.cfg.startupTimeLimit(),
		stderr:   p.sp.stderr,
		onExited: p.exited,
	}
	p.mu.Unlock()
	var (
		wg       sync.WaitGroup
		resultMu sync.Mutex // guards news and firstErr
		news     []*workerProc
		firstErr error
	)
	for range n {
		wg.Go(func() {
			w, err := spawnWorker(context.Background(), spec)
			resultMu.Lock()
			defer resultMu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				p.sp.log.Warn("worker did not start", "app_pool", p.name, "error", err)
				return
			}
			p.sp.mu.Lock()
			p.sp.procs[w.pid] = w
			p.sp.mu.Unlock()
			news = append(news, w)
			p.sp.log.Info("worker started", "app_pool", p.name, "pid", w.pid)
		})
	}
	wg.Wait()
	return news, firstErr
}

// exited drops a worker that has exited. When it exited on its own while
// the pool serves, an AlwaysRunning pool replaces it at once; an OnDemand
// pool replaces it on the next request.
func (p *poolRun) exited(w *workerProc, err error) {
	p.sp.mu.Lock()
	delete(p.sp.procs, w.pid)
	p.sp.mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	serving := slices.Contains(p.workers, w)
	p.workers = slices.DeleteFunc(p.workers, func(x *workerProc) bool { return x == w })
	p.draining = slices.DeleteFunc(p.draining, func(x *workerProc) bool { return x == w })
	if serving {
		p.sp.log.Warn("worker exited", "app_pool", p.name, "pid", w.pid, "error", err)
		if p.state != ps.StateStarted {
			return
		}
		p.crashCount++
		if p.rapidFailLocked() {
			return
		}
		if p.cfg.startMode() == "AlwaysRunning" {
			p.fillLocked()
		}
	} else {
		p.sp.log.Info("worker stopped", "app_pool", p.name, "pid", w.pid)
	}
}

// rapidFailLocked counts a crash and stops the pool when it is one too
// many, as WAS's rapid-fail protection does (by default 5 crashes within 5
// minutes). The caller holds p.mu.
func (p *poolRun) rapidFailLocked() bool {
	enabled, maxCrashes, interval := p.cfg.rapidFailProtection()
	if !enabled {
		return false
	}
	now := time.Now()
	p.crashes = slices.DeleteFunc(p.crashes, func(t time.Time) bool { return now.Sub(t) > interval })
	p.crashes = append(p.crashes, now)
	if len(p.crashes) < maxCrashes {
		return false
	}
	p.sp.log.Error("rapid-fail protection stopped the pool", "app_pool", p.name, "crashes", len(p.crashes), "interval_ms", interval.Milliseconds())
	p.crashes = nil
	limit := p.cfg.shutdownTimeLimit()
	for _, w := range p.workers {
		p.draining = append(p.draining, w)
		w.terminate(limit)
	}
	p.workers = nil
	p.state = ps.StateStopped
	p.stopReason = ps.StopReasonRapidFailProtection
	return true
}

// Acquire returns a worker for a request, starting the pool's workers when
// it has none (the first request of an OnDemand pool, or after a worker
// died). It fails with web.ErrPoolStopped when the pool does not serve.
func (p *poolRun) Acquire(ctx context.Context) (web.Worker, error) {
	waited := false
	for {
		p.mu.Lock()
		if p.state != ps.StateStarted {
			p.mu.Unlock()
			return web.Worker{}, web.ErrPoolStopped
		}
		p.lastRequest = time.Now()
		if len(p.workers) < p.cfg.maxProcesses() && (!waited || len(p.workers) > 0) {
			p.fillLocked()
		}
		if len(p.workers) > 0 {
			w := p.workers[p.next%len(p.workers)]
			p.next++
			p.mu.Unlock()
			return web.Worker{Addr: w.addr, Token: w.token, Release: w.leases.take()}, nil
		}
		done, err := p.filling, p.fillErr
		p.mu.Unlock()
		if waited || done == nil {
			if err == nil {
				err = fmt.Errorf("application pool %q has no worker", p.name)
			}
			return web.Worker{}, err
		}
		select {
		case <-done:
			waited = true
		case <-ctx.Done():
			return web.Worker{}, ctx.Err()
		}
	}
}

// stop stops the pool: its workers get SIGTERM and are killed after the
// shutdown time limit. The channel closes once they have all exited.
func (p *poolRun) stop() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state {
	case ps.StateStopped:
		done := make(chan struct{})
		close(done)
		return done
	case ps.StateStopping:
		return p.stopped
	}
	ws := p.workers
	p.workers = nil
	p.draining = append(p.draining, ws...)
	limit := p.cfg.shutdownTimeLimit()
	for _, w := range ws {
		w.terminate(limit)
	}
	done := make(chan struct{})
	p.stopped = done
	if len(ws) == 0 {
		p.state = ps.StateStopped
		close(done)
		return done
	}
	p.state = ps.StateStopping
	go func() {
		for _, w := range ws {
			<-w.exited
		}
		p.mu.Lock()
		if p.state == ps.StateStopping {
			p.state = ps.StateStopped
		}
		p.mu.Unlock()
		close(done)
	}()
	return done
}

// recycle replaces the pool's workers, as Restart-WebAppPool does. By
// default the rotation overlaps: the new workers start, then the old ones
// stop. With disallowOverlappingRotation the old ones stop first, and the
// new ones start at once for an AlwaysRunning pool, else on the next
// request. A pool without workers has nothing to recycle.
func (p *poolRun) recycle() error {
	p.mu.Lock()
	if p.state != ps.StateStarted {
		state := p.state
		p.mu.Unlock()
		return conflictf("application pool %q is %s; start it before recycling it", p.name, state)
	}
	old := slices.Clone(p.workers)
	if len(old) == 0 || p.recycling {
		p.mu.Unlock()
		return nil
	}
	p.recycling = true
	overlap := !p.cfg.disallowOverlappingRotation()
	want := p.cfg.maxProcesses()
	limit := p.cfg.shutdownTimeLimit()
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.recycling = false
		p.mu.Unlock()
	}()

	retire := func() { p.retireLocked(old, limit) }
	if overlap {
		news, err := p.spawnN(want)
		if err != nil {
			for _, w := range news {
				w.kill()
			}
			return fmt.Errorf("recycle application pool %q: %w", p.name, err)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.state != ps.StateStarted {
			for _, w := range news {
				p.draining = append(p.draining, w)
				w.terminate(limit)
			}
			return nil
		}
		retire()
		p.workers = append(p.workers, news...)
		return nil
	}
	p.mu.Lock()
	retire()
	p.mu.Unlock()
	for _, w := range old {
		<-w.exited
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == ps.StateStarted && p.cfg.startMode() == "AlwaysRunning" {
		p.fillLocked()
	}
	return nil
}

// retireLocked takes workers out of service: they get no new request,
// answer those they hold, then exit. The caller holds p.mu.
func (p *poolRun) retireLocked(old []*workerProc, limit time.Duration) {
	p.workers = slices.DeleteFunc(p.workers, func(w *workerProc) bool { return slices.Contains(old, w) })
	for _, w := range old {
		if w.alive() {
			p.draining = append(p.draining, w)
			w.retire(limit)
		}
	}
}

// maintain applies the idle timeout (OnDemand pools shut their workers
// down after idleTimeout without requests) and the periodic restart.
func (p *poolRun) maintain(now time.Time) {
	p.mu.Lock()
	if p.state != ps.StateStarted || len(p.workers) == 0 {
		p.mu.Unlock()
		return
	}
	if idle := p.sp.minutes(p.cfg.idleTimeout()); idle > 0 && p.cfg.startMode() == "OnDemand" && now.Sub(p.lastRequest) > idle {
		p.sp.log.Info("idle timeout reached", "app_pool", p.name, "idle_timeout_ms", idle.Milliseconds())
		limit := p.cfg.shutdownTimeLimit()
		for _, w := range p.workers {
			p.draining = append(p.draining, w)
			w.terminate(limit)
		}
		p.workers = nil
		p.mu.Unlock()
		return
	}
	due := false
	if period := p.sp.minutes(p.cfg.periodicRestart()); period > 0 && !p.recycling {
		for _, w := range p.workers {
			if now.Sub(w.start) > period {
				due = true
			}
		}
	}
	p.mu.Unlock()
	if due {
		p.sp.log.Info("periodic restart", "app_pool", p.name)
		go func() {
			if err := p.recycle(); err != nil {
				p.sp.log.Warn("periodic restart failed", "app_pool", p.name, "error", err)
			}
		}()
	}
}

// info reports the pool's state and workers.
func (p *poolRun) info() ps.AppPool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := ps.AppPool{
		Name:            p.cfg.Name,
		State:           p.state,
		StartMode:       p.cfg.startMode(),
		WorkerProcesses: []ps.WorkerProcess{},
		StopReason:      p.stopReason,
		WorkerCrashes:   p.crashCount,
	}
	for _, w := range p.workers {
		out.WorkerProcesses = append(out.WorkerProcesses, ps.WorkerProcess{ProcessID: w.pid, StartTime: w.start, State: "Running"})
	}
	for _, w := range p.draining {
		out.WorkerProcesses = append(out.WorkerProcesses, ps.WorkerProcess{ProcessID: w.pid, StartTime: w.start, State: "Stopping"})
	}
	return out
}

// LoadBalancerCapabilities is what a request meets when the pool is stopped.
func (p *poolRun) LoadBalancerCapabilities() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg.loadBalancerCapabilities()
}
