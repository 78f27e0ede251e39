//go:build !windows

package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Headers between the service and a worker. Requests from clients never
// carry them: the service removes any that arrive.
const (
	hdrPrefix    = "X-Iissim-"
	hdrToken     = "X-Iissim-Token"
	hdrRoot      = "X-Iissim-Root"
	hdrRel       = "X-Iissim-Rel"
	hdrSubstatus = "X-Iissim-Substatus"
)

// serverHeader is the Server header of every response.
const serverHeader = "Microsoft-IIS/10.0 (iissim)"

// Server is the web data plane of one iissim service: it serves the
// listeners the service opens for its bindings and proxies each request to
// a worker of the application's pool.
type Server struct {
	// svc gives the routing snapshot and the certificates.
	svc Service
	// log is the service's logger.
	log hclog.Logger
	// logs are the sites' W3C request logs.
	logs *RequestLogs
	// proxy forwards requests to the workers.
	proxy *httputil.ReverseProxy
}

// NewServer returns the web plane of svc, which logs requests to logs and
// its own failures to log.
func NewServer(svc Service, logs *RequestLogs, log hclog.Logger) *Server {
	s := &Server{svc: svc, log: log, logs: logs}
	s.proxy = s.newProxy()
	return s
}

// Frontend is one listener of the service, HTTP.sys's part: it accepts the
// connections of every binding on one address.
type Frontend struct {
	addr     string
	protocol string
	ln       net.Listener
	srv      *http.Server
}

// Serve serves a listener the service opened for the bindings on addr, with
// TLS when protocol is "https"; the Frontend closes it.
func (s *Server) Serve(addr, protocol string, ln net.Listener) *Frontend {
	f := &Frontend{addr: addr, protocol: protocol, ln: ln}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serveRequest(f, w, r) })
	f.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          s.log.StandardLogger(nil),
		// HTTP/1.1 only, so that a TcpLevel pool can drop the connection.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	if protocol == "https" {
		ln = tls.NewListener(ln, &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) { return s.certificateFor(addr, hello) },
		})
	}
	go func() {
		if err := f.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("listener failed", "address", addr, "error", err)
		}
	}()
	s.log.Info("listening", "address", addr, "protocol", protocol)
	return f
}

// Protocol is the protocol the frontend serves, "http" or "https".
func (f *Frontend) Protocol() string { return f.protocol }

// Close frees the address at once; requests in flight get a few seconds
// to finish in the background.
func (f *Frontend) Close() {
	_ = f.ln.Close()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := f.srv.Shutdown(ctx); err != nil {
			_ = f.srv.Close()
		}
	}()
}

// certificateFor picks the certificate of an https binding on addr: with
// SNI, the binding of that host name; else a binding that does not require
// SNI (IIS's IP:port certificate binding).
func (s *Server) certificateFor(addr string, hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	rt := s.svc.Routes()
	ar := rt.byAddr[addr]
	if ar == nil {
		return nil, fmt.Errorf("no binding on %s", addr)
	}
	name := strings.ToLower(hello.ServerName)
	var localIP net.IP
	if hello.Conn != nil {
		if ta, ok := hello.Conn.LocalAddr().(*net.TCPAddr); ok {
			localIP = ta.IP
		}
	}
	thumb := ""
	if name != "" {
		if b := ar.match(name, localIP); b != nil && b.binding.Hostname != "" {
			thumb = b.binding.CertificateThumbprint
		}
	}
	if thumb == "" {
		for _, b := range ar.bindings {
			if !b.binding.RequireSNI {
				thumb = b.binding.CertificateThumbprint
				break
			}
		}
	}
	if thumb == "" {
		return nil, fmt.Errorf("no certificate for server name %q on %s", hello.ServerName, addr)
	}
	return s.svc.Certificate(thumb)
}

// reqInfo carries what a request's log line needs from the proxy.
type reqInfo struct {
	worker    Worker
	substatus int
}

type reqInfoKey struct{}

// statusWriter records the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serveRequest routes one request: binding by host name, application by
// the longest path, virtual directory, then the application's pool, whose
// worker answers it.
func (s *Server) serveRequest(f *Frontend, w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	if hasControlChar(r.URL.Path) {
		// HTTP.sys refuses an encoded control character in the path before
		// routing; IIS logs it in HTTPERR, not in the site's log.
		s.log.Debug("bad request: control character in the URL path", "path", strconv.Quote(r.URL.Path))
		httpError(w, http.StatusBadRequest, 0, "Bad Request - Invalid URL")
		return
	}
	rt := s.svc.Routes()
	ar := rt.byAddr[f.addr]
	var localIP net.IP
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ta, ok := la.(*net.TCPAddr); ok {
			localIP = ta.IP
		}
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	var bs *boundSite
	if ar != nil {
		bs = ar.match(strings.Trim(host, "[]"), localIP)
	}
	if bs == nil {
		// HTTP.sys answers this itself; it never reaches a site's log.
		httpError(w, http.StatusBadRequest, 0, "Bad Request - Invalid Hostname")
		return
	}
	urlPath := cleanURLPath(r.URL.Path)
	sw := &statusWriter{ResponseWriter: w}
	info := &reqInfo{}
	defer func() {
		if sw.status == 0 {
			return
		}
		s.logRequest(bs.site.id, r, localIP, sw.status, info.substatus, time.Since(began))
	}()
	app := bs.site.app(urlPath)
	if app == nil {
		info.substatus = 0
		httpError(sw, http.StatusNotFound, 0, "Not Found")
		return
	}
	dir, rel, ok := app.dir(urlPath)
	if !ok {
		httpError(sw, http.StatusNotFound, 0, "Not Found")
		return
	}
	if app.pool == nil {
		httpError(sw, http.StatusServiceUnavailable, 0, "Service Unavailable")
		return
	}
	worker, err := app.pool.Acquire(r.Context())
	if errors.Is(err, ErrPoolStopped) {
		if app.pool.LoadBalancerCapabilities() == "TcpLevel" {
			// TcpLevel: HTTP.sys resets the connection without a response.
			dropConnection(w)
			return
		}
		// HttpLevel: HTTP.sys answers 503; IIS logs it in HTTPERR, not in the site's log.
		httpError(w, http.StatusServiceUnavailable, 0, "Service Unavailable")
		return
	}
	if err != nil {
		s.log.Warn("no worker for request", "app_pool", app.poolName, "error", err)
		httpError(sw, http.StatusServiceUnavailable, 0, "Service Unavailable")
		return
	}
	if worker.Release != nil {
		defer worker.Release()
	}
	info.worker = worker
	out := r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, info))
	for k := range out.Header {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), hdrPrefix) {
			out.Header.Del(k)
		}
	}
	out.Header.Set(hdrToken, worker.Token)
	out.Header.Set(hdrRoot, dir.physical)
	out.Header.Set(hdrRel, rel)
	s.proxy.ServeHTTP(sw, out)
}

// newProxy is the reverse proxy from the service to the workers.
func (s *Server) newProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			info, _ := pr.In.Context().Value(reqInfoKey{}).(*reqInfo)
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = info.worker.Addr
			pr.Out.Host = pr.In.Host
			for _, h := range []string{hdrToken, hdrRoot, hdrRel} {
				pr.Out.Header.Set(h, pr.In.Header.Get(h))
			}
		},
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
		ModifyResponse: func(resp *http.Response) error {
			if info, ok := resp.Request.Context().Value(reqInfoKey{}).(*reqInfo); ok {
				info.substatus, _ = strconv.Atoi(resp.Header.Get(hdrSubstatus))
			}
			resp.Header.Del(hdrSubstatus)
			resp.Header.Set("Server", serverHeader)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.log.Warn("worker did not answer", "error", err)
			httpError(w, http.StatusServiceUnavailable, 0, "Service Unavailable")
		},
		ErrorLog: s.log.StandardLogger(nil),
	}
}

// dropConnection closes the client connection without an answer.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// httpError writes an IIS-style error page.
func httpError(w http.ResponseWriter, status, substatus int, text string) {
	code := strconv.Itoa(status) + "." + strconv.Itoa(substatus)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Server", serverHeader)
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%s</title></head><body><h1>HTTP Error %s - %s</h1></body></html>\n", text, code, text)
}

// hasControlChar reports whether a decoded URL path holds a control
// character (below 0x20, or DEL), such as an encoded NUL or newline.
func hasControlChar(p string) bool {
	return strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// cleanURLPath normalises a request path as IIS does before routing: one
// leading slash, no dot segments, no repeated slashes; a trailing slash is kept.
func cleanURLPath(p string) string {
	if p == "" {
		return "/"
	}
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// logRequest writes the W3C line of a request the site served.
func (s *Server) logRequest(siteID int64, r *http.Request, localIP net.IP, status, substatus int, taken time.Duration) {
	e := w3cEntry{
		when:      time.Now(),
		method:    r.Method,
		uriStem:   r.URL.Path,
		uriQuery:  r.URL.RawQuery,
		clientIP:  remoteIP(r.RemoteAddr),
		userAgent: r.UserAgent(),
		referer:   r.Referer(),
		status:    status,
		substatus: substatus,
		taken:     taken,
	}
	if localIP != nil {
		e.serverIP = localIP.String()
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
		e.port = la.Port
	}
	if u := r.URL.User; u != nil {
		e.username = u.Username()
	}
	if err := s.logs.write(siteID, e); err != nil {
		s.log.Warn("request log", "site_id", siteID, "error", err)
	}
}

func remoteIP(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
