//go:build !windows

package iissim

import (
	"context"

	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/iissim/web"
	"github.com/nomad-iis/nomad-iis/ps"
)

// Warm-up bounds of SwitchApplicationVersion.
const (
	defaultWarmup = 30 * time.Second
	maxWarmup     = 10 * time.Minute
	// warmupAttempt bounds one warm-up request; warmupPause separates two.
	warmupAttempt = 10 * time.Second
	warmupPause   = 200 * time.Millisecond
)

// checkSwitchArgs validates SwitchApplicationVersion's arguments before
// anything is looked up.
func checkSwitchArgs(a *ps.SwitchApplicationVersionArgs) error {
	if a.SiteName == "" {
		return invalidf("siteName: a site name is required")
	}
	if !strings.HasPrefix(a.ApplicationPath, "/") {
		return invalidf("applicationPath: %q must be \"/\" or \"/<alias>\"", a.ApplicationPath)
	}
	if a.VirtualDirectoryPath == "" {
		a.VirtualDirectoryPath = "/"
	}
	if !strings.HasPrefix(a.VirtualDirectoryPath, "/") {
		return invalidf("virtualDirectoryPath: %q must be \"/\" or \"/<alias>\"", a.VirtualDirectoryPath)
	}
	if !filepath.IsAbs(a.PhysicalPath) {
		return invalidf("physicalPath: %q is not an absolute path", a.PhysicalPath)
	}
	if st, err := os.Stat(a.PhysicalPath); err != nil || !st.IsDir() {
		return invalidf("physicalPath: %q is not an existing folder", a.PhysicalPath)
	}
	if a.WarmupPath != "" && !strings.HasPrefix(a.WarmupPath, "/") {
		return invalidf("warmupPath: %q must start with \"/\"", a.WarmupPath)
	}
	if a.WarmupTimeoutMs < 0 || time.Duration(a.WarmupTimeoutMs)*time.Millisecond > maxWarmup {
		return invalidf("warmupTimeoutMs: %d must be between 0 (30 s) and %d", a.WarmupTimeoutMs, maxWarmup.Milliseconds())
	}
	return nil
}

// findVirtualDirectory finds the site, application and virtual directory
// that a switch names; NotFound names what is missing.
func findVirtualDirectory(cfg *appHostConfig, a *ps.SwitchApplicationVersionArgs) (*siteConfig, *appConfig, *vdirConfig, error) {
	site := cfg.site(a.SiteName)
	if site == nil {
		return nil, nil, nil, notFoundf("website %q does not exist", a.SiteName)
	}
	app := site.app(a.ApplicationPath)
	if app == nil {
		return nil, nil, nil, notFoundf("website %q has no application %q", a.SiteName, a.ApplicationPath)
	}
	for _, v := range app.VirtualDirectories {
		if strings.EqualFold(v.Path, a.VirtualDirectoryPath) {
			return site, app, v, nil
		}
	}
	return nil, nil, nil, notFoundf("application %q of website %q has no virtual directory %q", a.ApplicationPath, a.SiteName, a.VirtualDirectoryPath)
}

// opSwitchApplicationVersion points a virtual directory at another folder
// as IIS does when the physical path changes and the pool recycles in one
// commit with overlapping rotation: the new workers start on the new
// folder (and answer the warm-up), and only then does the configuration
// change and the old workers stop getting requests; they answer those they
// hold and exit. A failure before the change leaves everything as it was.
func (s *service) opSwitchApplicationVersion(ctx context.Context, args *ps.SwitchApplicationVersionArgs) (any, error) {
	if err := checkSwitchArgs(args); err != nil {
		return nil, err
	}
	s.mu.Lock()
	site, app, vdir, err := findVirtualDirectory(s.cfg, args)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	previous := vdir.PhysicalPath
	if args.ExpectedPhysicalPath != "" && filepath.Clean(previous) != filepath.Clean(args.ExpectedPhysicalPath) {
		s.mu.Unlock()
		return nil, conflictf("virtual directory %q of application %q serves %q, not the expected %q (switched meanwhile?)", args.VirtualDirectoryPath, args.ApplicationPath, previous, args.ExpectedPhysicalPath)
	}
	p, pc, err := s.poolFor(app.AppPool)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	overlap := !pc.disallowOverlappingRotation()
	host := "localhost"
	if len(site.Bindings) > 0 && site.Bindings[0].Hostname != "" {
		host = site.Bindings[0].Hostname
	}
	s.mu.Unlock()

	res := ps.SwitchedApplicationVersion{AppPool: pc.Name, PreviousPhysicalPath: previous, PhysicalPath: args.PhysicalPath}
	commit := func(swap func()) error { return s.setPhysicalPath(args, previous, swap) }
	if !overlap {
		if !args.AllowStopStart {
			return nil, conflictf("application pool %q has disallowOverlappingRotation = true, so its workers cannot overlap and a switch would drop requests; enable overlapping rotation, or ask for the stop/start switch (allowStopStart)", pc.Name)
		}
		if args.WarmupPath != "" {
			return nil, invalidf("warmupPath: a warm-up before the switch needs overlapping rotation, which application pool %q disallows", pc.Name)
		}
		res.Mode = ps.SwitchStopStart
		return res, p.switchStopStart(ctx, commit)
	}
	var warm func(web.Worker) (int, error)
	if args.WarmupPath != "" {
		timeout := defaultWarmup
		if args.WarmupTimeoutMs > 0 {
			timeout = time.Duration(args.WarmupTimeoutMs) * time.Millisecond
		}
		urlPath := path.Join(args.ApplicationPath, args.VirtualDirectoryPath, args.WarmupPath)
		if strings.HasSuffix(args.WarmupPath, "/") && !strings.HasSuffix(urlPath, "/") {
			urlPath += "/"
		}
		warm = func(w web.Worker) (int, error) {
			return warmUp(ctx, w, host, urlPath, args.PhysicalPath, args.WarmupPath, timeout)
		}
	}
	mode, status, err := p.switchOverlapped(warm, commit)
	if err != nil {
		return nil, err
	}
	res.Mode, res.WarmupStatus = mode, status
	s.log.Info("application switched", "site", args.SiteName, "application", args.ApplicationPath, "virtual_directory", args.VirtualDirectoryPath,
		"physical_path", args.PhysicalPath, "previous", previous, "mode", mode)
	return res, nil
}

// setPhysicalPath commits the new physical path if the directory still
// serves previous, rebuilds the routes, and calls swap (which may be nil)
// before any other configuration change can happen.
func (s *service) setPhysicalPath(args *ps.SwitchApplicationVersionArgs, previous string, swap func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := s.cfg.clone()
	if err != nil {
		return err
	}
	_, _, vdir, err := findVirtualDirectory(next, args)
	if err != nil {
		return err
	}
	if vdir.PhysicalPath != previous {
		return conflictf("virtual directory %q of application %q was changed meanwhile (it serves %q)", args.VirtualDirectoryPath, args.ApplicationPath, vdir.PhysicalPath)
	}
	vdir.PhysicalPath = args.PhysicalPath
	if err := next.save(s.lay.config()); err != nil {
		return fmt.Errorf("switch %s%s to %q: %w", args.ApplicationPath, args.VirtualDirectoryPath, args.PhysicalPath, err)
	}
	s.cfg = next
	s.reattachPoolsLocked()
	s.applyRoutesLocked(nil)
	if swap != nil {
		swap()
	}
	return nil
}

// warmUp requests urlPath from a new worker until it answers 2xx or 3xx,
// for at most timeout, and returns that status; the error says what the
// worker answered last.
func warmUp(ctx context.Context, w web.Worker, host, urlPath, root, rel string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "no answer"
	for attempt := 1; ; attempt++ {
		actx, acancel := context.WithTimeout(ctx, warmupAttempt)
		status, err := web.Probe(actx, w, host, urlPath, root, rel)
		acancel()
		switch {
		case err == nil && status >= 200 && status < 400:
			return status, nil
		case err == nil:
			last = fmt.Sprintf("HTTP %d", status)
		default:
			last = err.Error()
		}
		t := time.NewTimer(warmupPause)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, invalidf("warmupPath: GET %s did not answer 2xx or 3xx within %s (%d attempts, last: %s); the previous version still serves", urlPath, timeout, attempt, last)
		case <-t.C:
		}
	}
}

// switchOverlapped switches a pool's application as an overlapped recycle:
// new workers start and are warmed up (warm may be nil), then commit
// changes the configuration and, in the same step, the new workers take
// the old ones' place; the old ones answer what they hold and exit. A pool
// that is not started, or has no worker and no warm-up, only changes its
// configuration: its next worker starts on the new content.
func (p *poolRun) switchOverlapped(warm func(web.Worker) (int, error), commit func(swap func()) error) (string, int, error) {
	p.mu.Lock()
	if p.recycling {
		p.mu.Unlock()
		return "", 0, conflictf("application pool %q is being recycled; retry", p.name)
	}
	if p.state != ps.StateStarted || (len(p.workers) == 0 && warm == nil) {
		state := p.state
		p.mu.Unlock()
		if warm != nil {
			return "", 0, conflictf("application pool %q is %s; start it before a switch with a warm-up", p.name, state)
		}
		return ps.SwitchConfigOnly, 0, commit(nil)
	}
	p.recycling = true
	want := p.cfg.maxProcesses()
	limit := p.cfg.shutdownTimeLimit()
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.recycling = false
		p.mu.Unlock()
	}()

	news, err := p.spawnN(want)
	discard := func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, w := range news {
			p.draining = append(p.draining, w)
			w.retire(limit)
		}
	}
	if err != nil {
		discard()
		return "", 0, fmt.Errorf("switch application pool %q: start the new worker: %w", p.name, err)
	}
	status := 0
	if warm != nil {
		for _, w := range news {
			if status, err = warm(web.Worker{Addr: w.addr, Token: w.token}); err != nil {
				discard()
				return "", 0, err
			}
		}
	}
	swapped := false
	err = commit(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.state != ps.StateStarted {
			return
		}
		p.retireLocked(slices.Clone(p.workers), limit)
		p.workers = append(p.workers, news...)
		p.lastRequest = time.Now()
		swapped = true
	})
	if err != nil || !swapped {
		discard()
	}
	return ps.SwitchOverlapped, status, err
}

// switchStopStart switches a pool that disallows overlapping rotation: it
// stops the pool and waits for its workers (requests meet a stopped pool
// meanwhile), commits, and starts the pool again if it was started.
func (p *poolRun) switchStopStart(ctx context.Context, commit func(swap func()) error) error {
	p.mu.Lock()
	wasStarted := p.state == ps.StateStarted
	limit := p.cfg.shutdownTimeLimit()
	p.mu.Unlock()
	if wasStarted {
		done := p.stop()
		t := time.NewTimer(limit + time.Second)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
		case <-ctx.Done():
			p.start()
			return unavailablef("switch application pool %q: %v", p.name, ctx.Err())
		}
	}
	err := commit(nil)
	if wasStarted {
		p.start()
	}
	if err != nil {
		return err
	}
	return nil
}
