package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
	"github.com/nomad-iis/nomad-iis/ps"
)

// Server is the Management API: an http.Handler plus the listener around it.
type Server struct {
	cfg    Config
	reg    Registry
	iis    IIS
	log    hclog.Logger
	audit  hclog.Logger
	auth   *authenticator
	router *mux.Router
	routes []*route
	tls    *tls.Config

	locks   *taskLocks
	status  *statusCache[ps.AppPool]
	deploys *statusCache[deploymentStatus]
	procs   *procStats
	shots   *browserPool
	dumper  dumper
	dumpSem chan struct{}
	zipSem  chan struct{}
	links   *linkStore
	parts   *partIndex

	// bg is cancelled by Close; the janitor (bgWG) runs under it.
	bg     context.Context
	stopBG context.CancelFunc
	bgWG   sync.WaitGroup
	// snapshotFiles bounds the files a folder download holds open
	// (fsroot.MaxSnapshotFiles; tests lower it).
	snapshotFiles int

	// mu guards servers and closed.
	mu      sync.Mutex
	servers []*http.Server
	closed  bool
}

// New builds the API. reg is the driver's task registry and iis its IIS
// client; both are required. While the driver has no backend yet (it makes
// one in SetConfig), iis answers ps.ErrUnavailable and the routes that need
// it answer 503 with Retry-After.
func New(cfg Config, reg Registry, iis IIS, logger hclog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("management API configuration: %w", err)
	}
	if reg == nil || iis == nil {
		return nil, errors.New("management API: a task registry and an IIS client are required")
	}
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	logger = logger.Named("management_api")
	s := &Server{
		cfg:     cfg,
		reg:     reg,
		iis:     iis,
		log:     logger,
		audit:   cfg.AuditLogger,
		auth:    newAuthenticator(cfg),
		locks:   newTaskLocks(),
		status:  newStatusCache[ps.AppPool](cfg.StatusCacheTTL),
		deploys: newStatusCache[deploymentStatus](cfg.StatusCacheTTL),
		procs:   newProcStats(cfg.StatusCacheTTL),
		dumpSem: make(chan struct{}, 1),
		zipSem:  make(chan struct{}, cfg.MaxZipStreams),
		links:   newLinkStore(),
		parts:   newPartIndex(),

		snapshotFiles: fsroot.MaxSnapshotFiles,
	}
	if s.audit == nil {
		s.audit = logger.Named("audit")
	}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("management API: %s/%s: %w", FlagTLSCert, FlagTLSKey, err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.shots = newBrowserPool(cfg, logger.Named("screenshot"))
	s.dumper = newDumper(cfg, logger.Named("procdump"))
	s.routes = s.routeTable()
	s.router = s.buildRouter()
	s.bg, s.stopBG = context.WithCancel(context.Background())
	s.startJanitor()
	return s, nil
}

// Handler is the API as an http.Handler (authentication included).
func (s *Server) Handler() http.Handler { return s }

// ListenAndServe listens on Config.Addr (with TLS when configured) and serves
// until ctx is done or Close is called.
func (s *Server) ListenAndServe(ctx context.Context) error {
	if s.cfg.Port == 0 {
		return fmt.Errorf("management API: %s is not set", FlagPort)
	}
	ln, err := net.Listen("tcp", s.cfg.Addr())
	if err != nil {
		return fmt.Errorf("management API: listen on %s: %w", s.cfg.Addr(), err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done or Close is called; it then waits up
// to 10 s for requests in flight. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	// Above TLS, so that the guard reads the requests in clear text.
	// net/http then sees no *tls.Conn: Request.TLS stays nil (no route
	// reads it), the handshake runs within ReadHeaderTimeout on the first
	// read, and guardConn answers a plain HTTP request to the TLS port.
	ln = guardListener{Listener: ln, maxHead: maxHeaderBytes}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnContext:       guardConnContext,
		ConnState:         guardConnState,
		// No ReadTimeout or WriteTimeout: uploads and downloads may take
		// long. Transfers get a deadline that moves with their progress
		// (TransferIdleTimeout), other routes a context timeout.
		ErrorLog: s.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return http.ErrServerClosed
	}
	s.servers = append(s.servers, srv)
	s.mu.Unlock()

	if s.auth.open {
		s.log.Warn("no API key or JWT secret configured; serving loopback callers only", "flags", FlagKey+", "+FlagJWTSecret)
	}
	s.log.Info("listening", "address", ln.Addr().String(), "tls", s.tls != nil)

	stopped := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(stopped)
		s.shutdown(srv)
	})
	err := srv.Serve(ln)
	if !stop() {
		// ctx ended: srv.Serve returns as soon as the listener closes, the
		// requests in flight are still being served.
		<-stopped
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("management API: %w", err)
	}
	return nil
}

func (s *Server) shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
	}
}

// Close stops every listener, the janitor and the screenshot browser.
func (s *Server) Close() error {
	s.stopBG()
	s.bgWG.Wait()
	s.mu.Lock()
	s.closed = true
	servers := s.servers
	s.servers = nil
	s.mu.Unlock()
	for _, srv := range servers {
		s.shutdown(srv)
	}
	return s.shots.Close()
}
