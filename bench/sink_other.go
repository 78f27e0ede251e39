//go:build !linux

package bench

import (
	"fmt"
	"io"
	"net"
)

// sinkMethod says how discardConn drops what it receives, for the report.
const sinkMethod = "read into a 256 KiB buffer (splice(2) is Linux only)"

// discardConn receives n bytes from c (until EOF when n < 0) and drops
// them. Without MSG_TRUNC it reads them, as get does.
func discardConn(c *net.TCPConn, n int64) (int64, error) {
	var r io.Reader = c
	if n >= 0 {
		r = io.LimitReader(c, n)
	}
	got, err := readToEnd(r)
	if err == nil && n >= 0 && got < n {
		err = fmt.Errorf("connection closed after %d of %d bytes", got, n)
	}
	return got, err
}
