//go:build !windows

package iissim

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/nomad-iis/nomad-iis/ps"
)

// runHost is the "host" subcommand: it serves the contract on stdin and
// stdout, as host.ps1 does, and forwards the operations to the service of
// its state directory, starting the service when none runs. The extension
// operations run here, since they need the extensions directory.
func runHost(self []string, args []string) int {
	fs := flag.NewFlagSet("iissim host", flag.ContinueOnError)
	stateDir := fs.String("state-dir", "", "state directory (required)")
	extDir := fs.String("extensions-dir", "", "directory of admin extension hooks")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *stateDir == "" {
		fmt.Fprintln(os.Stderr, "iissim host: --state-dir is required")
		return 2
	}
	dir, err := absStateDir(*stateDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "iissim host: %v\n", err)
		return 1
	}
	log := hclog.New(&hclog.LoggerOptions{
		Name:   "iissim-host",
		Level:  hclog.LevelFromString(envOr("IISSIM_LOG_LEVEL", "info")),
		Output: os.Stderr,
	})
	h := &host{
		fwd: &forwarder{self: self, lay: layout{dir: dir}, log: log},
		ext: &extensions{dir: *extDir, stateDir: dir},
		out: bufio.NewWriter(os.Stdout),
	}
	// Reach the service before announcing readiness, so that a host that is
	// ready has a service behind it.
	if err := h.fwd.connect(); err != nil {
		fmt.Fprintf(os.Stderr, "iissim host: %v\n", err)
		return 1
	}
	defer h.fwd.close()
	ready, _ := json.Marshal(ps.ConnectionInfo{Backend: backendName, ProcessID: os.Getpid()})
	h.write(ps.Response{ID: ps.ReadyID, OK: true, Result: ready})

	var wg sync.WaitGroup
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	for {
		line, err := readLine(in, maxFrame)
		if err != nil {
			break
		}
		var req ps.Request
		if err := json.Unmarshal(line, &req); err != nil || req.Op == "" {
			log.Warn("malformed request frame skipped")
			if err == nil && req.ID != 0 {
				h.write(ps.Response{ID: req.ID, Error: &ps.WireError{Kind: ps.KindInvalidArgument, Message: "request without an operation"}})
			}
			continue
		}
		wg.Go(func() {
			resp := h.serve(req)
			resp.ID = req.ID
			h.write(resp)
		})
	}
	wg.Wait()
	return 0
}

// host serves one contract connection.
type host struct {
	fwd *forwarder
	ext *extensions

	// outMu serialises response frames on stdout.
	outMu sync.Mutex
	out   *bufio.Writer
}

// serve answers one request.
func (h *host) serve(req ps.Request) ps.Response {
	switch req.Op {
	case ps.OpInvokeHook, ps.OpGetExtension:
		result, err := h.ext.serve(req.Op, req.Args)
		return response(result, err)
	case ps.OpTestConnection:
		resp := h.fwd.call(req.Op, req.Args)
		if resp.OK {
			// The process serving the contract is this host.
			resp.Result, _ = json.Marshal(ps.ConnectionInfo{Backend: backendName, ProcessID: os.Getpid()})
		}
		return resp
	}
	return h.fwd.call(req.Op, req.Args)
}

// response renders a result or an error.
func response(result any, err error) ps.Response {
	if err != nil {
		return ps.Response{Error: wireError(err)}
	}
	b, err := json.Marshal(result)
	if err != nil {
		return ps.Response{Error: wireError(err)}
	}
	return ps.Response{OK: true, Result: b}
}

// write sends one response frame.
func (h *host) write(resp ps.Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(ps.Response{ID: resp.ID, Error: &ps.WireError{Kind: ps.KindInternal, Message: err.Error()}})
	}
	h.outMu.Lock()
	defer h.outMu.Unlock()
	_, _ = h.out.Write(append(b, '\n'))
	_ = h.out.Flush()
}

// forwarder passes operations to the service over its unix socket, with
// ids of its own; when the connection breaks, the calls in flight fail as
// Unavailable and the next call reconnects, starting the service again
// if needed.
type forwarder struct {
	self []string
	lay  layout
	log  hclog.Logger

	// mu guards link and nextID.
	mu     sync.Mutex
	link   *link
	nextID uint64
}

// link is one connection to the service and the calls waiting on it.
type link struct {
	conn net.Conn
	// pending is guarded by the forwarder's mu.
	pending map[uint64]chan ps.Response
}

// connect makes sure there is a connection.
func (f *forwarder) connect() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.linkLocked()
	return err
}

func (f *forwarder) linkLocked() (*link, error) {
	if f.link != nil {
		return f.link, nil
	}
	conn, err := connectService(f.self, f.lay)
	if err != nil {
		return nil, err
	}
	l := &link{conn: conn, pending: map[uint64]chan ps.Response{}}
	f.link = l
	go f.read(l)
	return l, nil
}

// call runs one operation on the service. A request that could not be
// written never reached a service, so it is sent once more on a new
// connection (a service that was stopped is started again).
func (f *forwarder) call(op ps.Op, args json.RawMessage) ps.Response {
	var (
		ch  chan ps.Response
		err error
	)
	for attempt := 0; attempt < 2 && ch == nil; attempt++ {
		ch, err = f.send(op, args)
	}
	if err != nil {
		return ps.Response{Error: &ps.WireError{Kind: ps.KindUnavailable, Message: fmt.Sprintf("iissim service: %v", err)}}
	}
	return <-ch
}

// send writes one request; the channel receives its response.
func (f *forwarder) send(op ps.Op, args json.RawMessage) (chan ps.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, err := f.linkLocked()
	if err != nil {
		return nil, err
	}
	f.nextID++
	id := f.nextID
	b, err := ps.EncodeRequest(ps.Request{ID: id, Op: op, Args: args})
	if err != nil {
		return nil, err
	}
	ch := make(chan ps.Response, 1)
	l.pending[id] = ch
	if _, err := l.conn.Write(b); err != nil {
		delete(l.pending, id)
		f.dropLocked(l)
		return nil, err
	}
	return ch, nil
}

// read delivers the service's responses until the connection ends.
func (f *forwarder) read(l *link) {
	r := bufio.NewReaderSize(l.conn, 64<<10)
	for {
		line, err := readLine(r, maxFrame)
		if err != nil {
			break
		}
		resp, ok := ps.DecodeResponse(line)
		if !ok {
			continue
		}
		f.mu.Lock()
		ch := l.pending[resp.ID]
		delete(l.pending, resp.ID)
		f.mu.Unlock()
		if ch != nil {
			ch <- resp
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropLocked(l)
}

// dropLocked ends a link and fails its calls. The caller holds f.mu.
func (f *forwarder) dropLocked(l *link) {
	_ = l.conn.Close()
	if f.link == l {
		f.link = nil
	}
	for id, ch := range l.pending {
		ch <- ps.Response{Error: &ps.WireError{Kind: ps.KindUnavailable, Message: "the connection to the iissim service was lost"}}
		delete(l.pending, id)
	}
}

// close ends the connection.
func (f *forwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.link != nil {
		f.dropLocked(f.link)
	}
}
