//go:build !windows

package iissim

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nomad-iis/nomad-iis/iissim/web"
	"github.com/nomad-iis/nomad-iis/ps"
)

// defaultIdleExit is how long a service without sites, pools and clients
// waits before it exits; IISSIM_IDLE_EXIT (a Go duration) changes it.
const defaultIdleExit = 60 * time.Second

// shutdownWait bounds how long the service waits for its workers when it stops.
const shutdownWait = 10 * time.Second

// lockWait bounds how long a new service waits for one that is shutting down.
const lockWait = 30 * time.Second

// service is the iissim daemon: the "IIS" of one state directory. It holds
// the configuration, the listeners of the bindings and the worker processes
// of the pools, and serves the contract's operations on a unix socket. The
// web plane (package web) serves the listeners; the service gives it the
// routing snapshot and the certificates (web.Service).
type service struct {
	// started is when this service process started (ServerInfo.ServiceStartTime).
	started time.Time
	// lay names the files of the state directory.
	lay layout
	// log logs to the service's stderr, service.log when a host started it.
	log hclog.Logger
	// certs is the certificate store below the state directory.
	certs certStore
	// bindAll makes "*" bindings listen on every interface instead of
	// 127.0.0.1 (IISSIM_BIND_ALL=1).
	bindAll bool
	// sp starts the worker processes of every pool and keeps track of them.
	sp *spawner
	// logs are the sites' W3C request logs; the web plane writes them.
	logs *web.RequestLogs
	// plane serves the listeners of fronts and proxies to the workers.
	plane *web.Server
	// routes is the routing snapshot the web plane reads (Routes),
	// replaced by applyRoutesLocked on every configuration change.
	routes atomic.Pointer[web.Routes]
	// idleExit is how long the service waits without site, pool or client
	// before it exits (IISSIM_IDLE_EXIT).
	idleExit time.Duration

	// mu guards the fields below it. Lock order: mu, then a pool's mu.
	mu sync.Mutex
	// cfg is the configuration, as kept in applicationHost.json.
	cfg *appHostConfig
	// pools are the runtimes of the configured pools, by lower-case name.
	pools map[string]*poolRun
	// fronts are the open listeners, by listen address.
	fronts map[string]*web.Frontend

	// certMu guards certCache, the certificates loaded for TLS handshakes,
	// by thumbprint.
	certMu    sync.Mutex
	certCache map[string]*tls.Certificate

	// clients counts open control connections; idleSince is when the last
	// one closed (Unix nanoseconds).
	clients   atomic.Int64
	idleSince atomic.Int64

	// connsMu guards conns, the open control connections.
	connsMu sync.Mutex
	conns   map[net.Conn]struct{}

	// quit closes, once (quitOnce), when the service is to stop.
	quit     chan struct{}
	quitOnce sync.Once
}

var (
	_ web.Service = (*service)(nil)
	_ web.Pool    = (*poolRun)(nil)
)

// runService is the "service" subcommand.
func runService(self []string, args []string) int {
	fs := flag.NewFlagSet("iissim service", flag.ContinueOnError)
	stateDir := fs.String("state-dir", "", "state directory (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *stateDir == "" {
		fmt.Fprintln(os.Stderr, "iissim service: --state-dir is required")
		return 2
	}
	dir, err := absStateDir(*stateDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "iissim service: %v\n", err)
		return 1
	}
	log := hclog.New(&hclog.LoggerOptions{
		Name:   "iissim",
		Level:  hclog.LevelFromString(envOr("IISSIM_LOG_LEVEL", "info")),
		Output: os.Stderr,
	})
	if err := os.MkdirAll(dir, 0o700); err != nil {
		log.Error("state directory", "error", err)
		return 1
	}
	lay := layout{dir: dir}
	// The lock is held until the process exits, so that whoever waits for
	// it (stop, or a service started while this one shuts down) knows the
	// service and its workers are gone.
	lock, err := waitLock(lay.serviceLock(), lockWait)
	if err != nil {
		log.Info("another service runs for this state directory", "state_dir", dir, "error", err)
		return 0
	}
	defer runtime.KeepAlive(lock)

	s := &service{
		started:   time.Now(),
		lay:       lay,
		log:       log,
		certs:     certStore{dir: lay.certsDir()},
		bindAll:   os.Getenv("IISSIM_BIND_ALL") == "1",
		sp:        newSpawner(self, os.Stderr, log),
		logs:      web.NewRequestLogs(lay.logsDir()),
		idleExit:  defaultIdleExit,
		pools:     map[string]*poolRun{},
		fronts:    map[string]*web.Frontend{},
		certCache: map[string]*tls.Certificate{},
		conns:     map[net.Conn]struct{}{},
		quit:      make(chan struct{}),
	}
	if v := os.Getenv("IISSIM_MINUTE"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			s.sp.minute = d
		}
	}
	if v := os.Getenv("IISSIM_IDLE_EXIT"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			s.idleExit = d
		}
	}
	s.plane = web.NewServer(s, s.logs, log)
	s.idleSince.Store(time.Now().UnixNano())
	if err := s.load(); err != nil {
		log.Error("configuration", "error", err)
		return 1
	}
	sock := lay.socket()
	_ = os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		log.Error("control socket", "error", err)
		s.shutdown()
		return 1
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		log.Warn("control socket mode", "error", err)
	}
	if err := os.WriteFile(lay.pidFile(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		log.Warn("pid file", "error", err)
	}
	log.Info("service started", "state_dir", dir, "pid", os.Getpid(), "socket", sock)

	go s.acceptLoop(ln)
	s.run()
	// Refuse new clients and end the current ones before the workers, so
	// that no client is answered by a service that is going away.
	_ = ln.Close()
	_ = os.Remove(sock)
	s.closeClients()
	s.shutdown()
	if owned, err := os.ReadFile(lay.pidFile()); err == nil && strings.TrimSpace(string(owned)) == strconv.Itoa(os.Getpid()) {
		_ = os.Remove(lay.pidFile())
	}
	log.Info("service stopped")
	return 0
}

// run waits for a reason to stop: a signal, "stop", or what tick finds.
func (s *service) run() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case sig := <-sigs:
			s.log.Info("signal received", "signal", sig.String())
			return
		case now := <-ticker.C:
			s.tick(now)
		case <-s.quit:
			return
		}
	}
}

// stopNow makes the service exit.
func (s *service) stopNow() {
	s.quitOnce.Do(func() { close(s.quit) })
}

// tick runs once a second: the service exits when its state directory is
// gone, or when it has had no site, pool or client for idleExit; pools
// apply their idle timeout and periodic restart.
func (s *service) tick(now time.Time) {
	if _, err := os.Stat(s.lay.dir); errors.Is(err, os.ErrNotExist) {
		s.log.Info("state directory removed; stopping", "state_dir", s.lay.dir)
		s.stopNow()
		return
	}
	s.mu.Lock()
	empty := len(s.cfg.Sites) == 0 && len(s.cfg.AppPools) == 0
	pools := make([]*poolRun, 0, len(s.pools))
	for _, p := range s.pools {
		pools = append(pools, p)
	}
	s.mu.Unlock()
	if empty && s.clients.Load() == 0 && now.Sub(time.Unix(0, s.idleSince.Load())) > s.idleExit {
		s.log.Info("no site, pool or client; stopping", "idle_exit_ms", s.idleExit.Milliseconds())
		s.stopNow()
		return
	}
	for _, p := range pools {
		p.maintain(now)
	}
}

// load reads the configuration and starts what it describes: the pools
// that were started and the sites' listeners. A port another process took
// meanwhile leaves its site stopped, as IIS does.
func (s *service) load() error {
	cfg, err := loadConfig(s.lay.config())
	if err != nil {
		return err
	}
	if n := cfg.pruneAcls(); n > 0 {
		if err := cfg.save(s.lay.config()); err != nil {
			s.log.Warn("cannot save the pruned ACL records", "error", err)
		} else {
			s.log.Info("ACL records of removed task directories pruned", "count", n)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg = cfg
	for _, pc := range cfg.AppPools {
		p := newPoolRun(pc, s.sp)
		s.pools[strings.ToLower(pc.Name)] = p
		if pc.AutoStart {
			p.start()
		}
	}
	s.applyRoutesLocked(nil)
	return nil
}

// applyRoutesLocked rebuilds the routing snapshot and opens and closes
// listeners to match it. opened are listeners already bound for new
// addresses. The caller holds s.mu.
func (s *service) applyRoutesLocked(opened map[string]net.Listener) {
	rt := web.BuildRoutes(routeSites(s.cfg, s.pools), s.bindAll)
	s.routes.Store(rt)
	addrs := rt.Addresses()
	for addr, f := range s.fronts {
		if protocol, ok := addrs[addr]; !ok || protocol != f.Protocol() {
			f.Close()
			delete(s.fronts, addr)
		}
	}
	for addr, protocol := range addrs {
		if _, ok := s.fronts[addr]; ok {
			continue
		}
		ln := opened[addr]
		delete(opened, addr)
		if ln == nil {
			var err error
			if ln, err = listen(addr); err != nil {
				s.log.Error("binding cannot listen; its site stays stopped", "address", addr, "error", err)
				continue
			}
		}
		s.fronts[addr] = s.plane.Serve(addr, protocol, ln)
	}
	for _, ln := range opened {
		_ = ln.Close()
	}
}

// Routes is the routing snapshot the web plane reads (web.Service).
func (s *service) Routes() *web.Routes { return s.routes.Load() }

// siteStateLocked is Started when every binding of the site listens.
func (s *service) siteStateLocked(site *siteConfig) string {
	for _, b := range site.Bindings {
		f := s.fronts[web.ListenAddr(b, s.bindAll)]
		if f == nil || f.Protocol() != b.Protocol {
			return ps.StateStopped
		}
	}
	return ps.StateStarted
}

// shutdown closes the listeners and stops every worker: SIGTERM, then
// SIGKILL for those still running after shutdownWait.
func (s *service) shutdown() {
	s.mu.Lock()
	for addr, f := range s.fronts {
		f.Close()
		delete(s.fronts, addr)
	}
	var done []<-chan struct{}
	for _, p := range s.pools {
		done = append(done, p.stop())
	}
	s.mu.Unlock()
	deadline := time.NewTimer(shutdownWait)
	defer deadline.Stop()
wait:
	for _, d := range done {
		select {
		case <-d:
		case <-deadline.C:
			break wait
		}
	}
	for _, w := range s.sp.all() {
		w.kill()
		select {
		case <-w.exited:
		case <-time.After(2 * time.Second):
		}
	}
	s.logs.CloseAll()
}

// Certificate loads a certificate of the store for a TLS handshake
// (web.Service).
func (s *service) Certificate(thumbprint string) (*tls.Certificate, error) {
	s.certMu.Lock()
	defer s.certMu.Unlock()
	if c := s.certCache[thumbprint]; c != nil {
		return c, nil
	}
	sc, err := s.certs.get(thumbprint)
	if err != nil {
		return nil, err
	}
	c, err := sc.tlsCertificate()
	if err != nil {
		return nil, err
	}
	s.certCache[thumbprint] = c
	return c, nil
}

// forgetCertificate drops a removed certificate from the cache.
func (s *service) forgetCertificate(thumbprint string) {
	s.certMu.Lock()
	defer s.certMu.Unlock()
	delete(s.certCache, thumbprint)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
