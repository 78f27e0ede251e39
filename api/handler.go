package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"
)

// handlerFunc is a route handler. It returns an error instead of writing
// one; writeError turns it into the response. A handler that has started
// its body must not return an error it expects to be sent: the connection
// is then aborted, which tells the client the transfer is incomplete.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// call carries what the route wrapper established for a handler.
type call struct {
	principal *Principal
	// task is set for the routes under /allocs/{allocId}/{taskName}.
	task Task
	// vars are the route variables, URL-decoded exactly once.
	vars map[string]string
	// auditPath and auditNote are added to the audit line by handlers.
	auditPath string
	auditNote string
}

type principalKey struct{}

// ServeHTTP runs the checks every request passes before routing: browser
// guards, authentication, panic recovery; then the router.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	body := &countingBody{ReadCloser: r.Body}
	r.Body = body
	// A request body that stalls (on any route) must not hold the
	// connection forever, not even while net/http drains it after the
	// handler; uploads move this deadline forward as data arrives.
	if r.ContentLength != 0 {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.TransferIdleTimeout))
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { // net/http's own sentinel, never wrapped: pass it on
				panic(v)
			}
			s.log.Error("handler panic", "method", r.Method, "url_path", logPath(r), "panic", v)
			if !rec.wrote {
				writeProblem(rec, &APIError{HTTPStatus: http.StatusInternalServerError, Message: "internal error; the plugin's log has the details"})
			}
		}
		// Never log headers: X-Api-Key and Authorization are secrets.
		s.log.Trace("request", "method", r.Method, "url_path", logPath(r), "status", logInt(int64(rec.status)),
			"bytes_in", logInt(body.n), "bytes_out", logInt(rec.bytes), "duration_ms", logInt(time.Since(start).Milliseconds()))
	}()
	if err := checkConn(rec, r); err != nil {
		s.writeError(rec, r, err)
		return
	}
	if strings.HasPrefix(r.URL.EscapedPath(), linkPrefix) {
		// A download link: no credentials, no browser guard (a link is
		// meant to be opened from anywhere, and carries no ambient
		// authority a cross-site request could abuse).
		s.router.ServeHTTP(rec, r)
		return
	}
	if err := s.guard(r); err != nil {
		s.writeError(rec, r, err)
		return
	}
	p, err := s.auth.authenticate(r)
	if err != nil {
		if s.auth.acceptsBearer() {
			rec.Header().Set("WWW-Authenticate", `Bearer realm="nomad-iis"`)
		}
		s.writeError(rec, r, err)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
	s.router.ServeHTTP(rec, r)
}

// guard refuses what only a browser sends: cross-site requests (the API has
// no CORS and no cookies) and, when the API runs without credentials on
// loopback, requests whose Host is not a loopback name (DNS rebinding).
func (s *Server) guard(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return apiErr(http.StatusForbidden, "cross-site browser requests are refused")
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return apiErr(http.StatusForbidden, "cross-origin browser requests are refused (the API sends no CORS headers)")
		}
	}
	if s.auth.open {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if !IsLoopback(host) && !strings.EqualFold(host, "localhost") {
			return apiErr(http.StatusForbidden, "without an API key the API answers only requests addressed to localhost")
		}
	}
	return nil
}

// wrap turns a route into an http.Handler: capability, scope and task
// lookup first, then the handler, then the audit line of a mutation.
func (s *Server) wrap(rt *route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		p, _ := r.Context().Value(principalKey{}).(*Principal)
		c := &call{principal: p}
		err := s.serveRoute(w, r, rt, c)
		rec, _ := w.(*recorder)
		if err != nil {
			if rec != nil && rec.wrote {
				s.log.Warn("transfer aborted", "method", r.Method, "url_path", logPath(r), "error", err)
				if rt.Audit {
					s.auditLine(r, rt, c, rec, start, err)
				}
				panic(http.ErrAbortHandler)
			}
			s.writeError(w, r, err)
		}
		if rt.Audit && rec != nil {
			s.auditLine(r, rt, c, rec, start, err)
		}
	})
}

func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, rt *route, c *call) error {
	if c.principal == nil && !rt.Public {
		return errUnauthenticated
	}
	vars := mux.Vars(r)
	c.vars = make(map[string]string, len(vars))
	for k, v := range vars {
		d, err := url.PathUnescape(v)
		if err != nil {
			return apiErr(http.StatusBadRequest, "the URL's %s is not correctly percent-encoded", k)
		}
		c.vars[k] = d
	}
	c.auditPath = c.vars["path"]
	if rt.Public {
		// Named for the audit line; the handler adds the link's id.
		c.principal = &Principal{Kind: "link"}
		return rt.h(w, r, c)
	}
	if rt.Cap != "" && !c.principal.Can(rt.Cap) && (rt.AltCap == "" || !c.principal.Can(rt.AltCap)) {
		if rt.AltCap != "" {
			return apiErr(http.StatusForbidden, "the credentials lack the %s (or %s) capability this route needs", rt.Cap, rt.AltCap)
		}
		return apiErr(http.StatusForbidden, "the credentials lack the %s capability this route needs", rt.Cap)
	}
	if rt.Task {
		allocID, taskName := c.vars["allocId"], c.vars["taskName"]
		// The token's scope is checked before and after the lookup, and a
		// task outside it answers exactly like a task that does not exist:
		// the API is no oracle for other namespaces' allocations.
		notFound := apiErr(http.StatusNotFound, "allocation %q has no task %q (or the credentials do not cover it)", allocID, taskName)
		if !c.principal.MayAlloc(allocID) {
			return notFound
		}
		t, ok := s.reg.Lookup(allocID, taskName)
		if !ok || !c.principal.MayTask(t) {
			return notFound
		}
		c.task = t
	}
	if rt.Timeout {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	return rt.h(w, r, c)
}

// auditLine writes the one audit line of an audited route. It names the caller by
// key index or token claims, never by secret.
func (s *Server) auditLine(r *http.Request, rt *route, c *call, rec *recorder, start time.Time, err error) {
	status := rec.status
	if err != nil && !rec.wrote {
		status = classify(err).HTTPStatus
	}
	body, _ := r.Body.(*countingBody)
	var in int64
	if body != nil {
		in = body.n
	}
	args := []any{
		"method", r.Method, "route", openAPIPath(rt.Path),
		"alloc_id", c.vars["allocId"], "task_name", c.vars["taskName"],
		"path", c.auditPath, "caller", c.principal.String(),
		"status", logInt(int64(status)), "bytes_in", logInt(in), "bytes_out", logInt(rec.bytes),
		"duration_ms", logInt(time.Since(start).Milliseconds()),
	}
	if c.auditNote != "" {
		args = append(args, "note", c.auditNote)
	}
	if err != nil {
		args = append(args, "error", err.Error())
	}
	s.audit.Info("audit", args...)
}

// logInt is n for a log line, as its decimal digits. The plugin logs JSON
// that go-plugin decodes in the Nomad agent, where a JSON number becomes a
// float64 and is printed as 4.194709e+07; digits in a string stay exact.
func logInt(n int64) hclog.Format { return hclog.Fmt("%d", n) }

// recorder notes the status and size of a response. Unwrap lets
// http.ResponseController reach the connection for deadlines and flushes.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status = code
		r.wrote = true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom passes io.Copy through to the connection's ReadFrom, which
// sends a file with sendfile(2) on a plain TCP connection.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	r.wrote = true
	n, err := io.Copy(r.ResponseWriter, src)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// countingBody counts the request bytes read, and marks the errors of
// reading the body (a broken chunked encoding, a reset connection) as
// *bodyReadError: the client's fault, never a 500.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF {
		err = &bodyReadError{err: err}
	}
	return n, err
}

// bodyReadError is an error of net/http reading the request body.
type bodyReadError struct{ err error }

// Error implements error.
func (e *bodyReadError) Error() string { return "read the request body: " + e.err.Error() }

// Unwrap returns net/http's error.
func (e *bodyReadError) Unwrap() error { return e.err }

// transfer gives an upload or download a read and write deadline that
// moves with each chunk: a stalled peer is dropped after d, a slow one
// never. done clears the write deadline for the next request on the
// connection (net/http resets the read deadline itself).
type transfer struct {
	rc *http.ResponseController
	d  time.Duration
}

func newTransfer(w http.ResponseWriter, d time.Duration) *transfer {
	return &transfer{rc: http.NewResponseController(w), d: d}
}

// reader wraps a request body.
func (t *transfer) reader(r io.Reader) io.Reader {
	_ = t.rc.SetReadDeadline(time.Now().Add(t.d))
	return &deadlineReader{r: r, t: t}
}

// writer wraps the response writer.
func (t *transfer) writer(w http.ResponseWriter) http.ResponseWriter {
	return &deadlineWriter{ResponseWriter: w, t: t}
}

func (t *transfer) done() {
	_ = t.rc.SetWriteDeadline(time.Time{})
}

type deadlineReader struct {
	r io.Reader
	t *transfer
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	_ = d.t.rc.SetReadDeadline(time.Now().Add(d.t.d))
	n, err := d.r.Read(p)
	if err == io.EOF {
		// The body is in; what follows (extraction, pool stops) may take
		// longer than the idle timeout, and net/http's background read
		// would cancel the request when the deadline passed.
		_ = d.t.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

type deadlineWriter struct {
	http.ResponseWriter
	t *transfer
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	_ = d.t.rc.SetWriteDeadline(time.Now().Add(d.t.d))
	return d.ResponseWriter.Write(p)
}

// transferChunk is how much a ReadFrom sends under one write deadline: a
// peer slower than transferChunk per TransferIdleTimeout (2 KiB/s at the
// defaults) is dropped.
const transferChunk = 256 << 10

// ReadFrom copies src in chunks, moving the write deadline before each, and
// lets each chunk reach the connection's ReadFrom (sendfile(2) for a file,
// as http.ServeContent sends it) instead of a 32 KiB buffer.
func (d *deadlineWriter) ReadFrom(src io.Reader) (int64, error) {
	inner, remain := src, int64(-1)
	lr, limited := src.(*io.LimitedReader)
	if limited {
		inner, remain = lr.R, lr.N
	}
	var total int64
	for remain != 0 {
		chunk := int64(transferChunk)
		if remain > 0 {
			chunk = min(chunk, remain)
		}
		_ = d.t.rc.SetWriteDeadline(time.Now().Add(d.t.d))
		n, err := io.Copy(d.ResponseWriter, &io.LimitedReader{R: inner, N: chunk})
		total += n
		if limited {
			remain -= n
			lr.N = remain
		}
		if err != nil || n < chunk {
			return total, err
		}
	}
	return total, nil
}

func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }
