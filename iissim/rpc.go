//go:build !windows

package iissim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// opShutdown is the service's internal operation behind "iissim stop".
const opShutdown ps.Op = "iissim.Shutdown"

// maxFrame bounds one request line on the control socket.
const maxFrame = 64 << 20

// acceptLoop serves control connections until the listener closes.
func (s *service) acceptLoop(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Error("control socket", "error", err)
			}
			return
		}
		go s.serveConn(conn)
	}
}

// serveConn reads request frames from one client (a host, ctl or stop) and
// answers each as soon as it is done; requests run concurrently.
func (s *service) serveConn(conn net.Conn) {
	s.clients.Add(1)
	s.connsMu.Lock()
	s.conns[conn] = struct{}{}
	s.connsMu.Unlock()
	defer func() {
		s.connsMu.Lock()
		delete(s.conns, conn)
		s.connsMu.Unlock()
		s.idleSince.Store(time.Now().UnixNano())
		s.clients.Add(-1)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg      sync.WaitGroup
		writeMu sync.Mutex // serialises response frames
	)
	defer func() {
		cancel()
		wg.Wait()
		_ = conn.Close()
	}()
	r := bufio.NewReaderSize(conn, 64<<10)
	for {
		line, err := readLine(r, maxFrame)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("control connection", "error", err)
			}
			return
		}
		var req ps.Request
		if err := json.Unmarshal(line, &req); err != nil || req.Op == "" {
			s.log.Warn("malformed request frame skipped")
			continue
		}
		wg.Go(func() {
			resp := s.handle(ctx, req)
			b, err := json.Marshal(resp)
			if err != nil {
				b, _ = json.Marshal(ps.Response{ID: req.ID, Error: &ps.WireError{Kind: ps.KindInternal, Message: err.Error()}})
			}
			writeMu.Lock()
			defer writeMu.Unlock()
			_, _ = conn.Write(append(b, '\n'))
		})
	}
}

// closeClients ends every control connection.
func (s *service) closeClients() {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	for c := range s.conns {
		_ = c.Close()
	}
}

// handle runs one operation and renders its response.
func (s *service) handle(ctx context.Context, req ps.Request) ps.Response {
	result, err := s.dispatch(ctx, req.Op, req.Args)
	if err != nil {
		return ps.Response{ID: req.ID, Error: wireError(err)}
	}
	b, err := json.Marshal(result)
	if err != nil {
		return ps.Response{ID: req.ID, Error: wireError(err)}
	}
	return ps.Response{ID: req.ID, OK: true, Result: b}
}

// dispatch finds the operation's handler.
func (s *service) dispatch(ctx context.Context, op ps.Op, args json.RawMessage) (any, error) {
	if op == opShutdown {
		s.log.Info("stop requested")
		s.stopNow()
		return struct{}{}, nil
	}
	h, ok := s.handlers()[op]
	if !ok {
		return nil, invalidf("unknown operation %q", op)
	}
	return h(ctx, args)
}

// readLine reads one line without its end, refusing lines above limit.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, chunk...)
		if len(line) > limit {
			return nil, errors.New("frame too long")
		}
		if !isPrefix {
			return line, nil
		}
	}
}

// decodeArgs decodes an operation's arguments, InvalidArgument when they
// are not the expected JSON.
func decodeArgs[T any](args json.RawMessage) (*T, error) {
	var v T
	if len(args) == 0 || string(args) == "null" {
		return &v, nil
	}
	if err := json.Unmarshal(args, &v); err != nil {
		return nil, invalidf("arguments: %v", err)
	}
	return &v, nil
}
