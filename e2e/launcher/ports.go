package launcher

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// freePorts returns the ports asked for, with each 0 replaced by a port that
// is free on 127.0.0.1. A fixed port that is already in use is an error
// that says so, rather than an agent that fails to bind later.
func freePorts(want ...int) ([]int, error) {
	out := make([]int, len(want))
	var held []net.Listener
	defer func() {
		for _, l := range held {
			_ = l.Close()
		}
	}()
	// Fixed ports first, so that a picked port never takes one of them.
	for i, p := range want {
		if p == 0 {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("launcher: port %d on 127.0.0.1 is in use (is another Nomad agent or `make run` running?)", p)
			}
			return nil, fmt.Errorf("launcher: port %d: %w", p, err)
		}
		held = append(held, l)
		out[i] = p
	}
	for i, p := range want {
		if p != 0 {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("launcher: pick a free port: %w", err)
		}
		held = append(held, l)
		out[i] = l.Addr().(*net.TCPAddr).Port
	}
	return out, nil
}
