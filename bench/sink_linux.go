package bench

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// sinkMethod says how discardConn drops what it receives, for the report.
const sinkMethod = "dropped in the kernel as it arrives (recv(2) with MSG_TRUNC, which TCP documents as discarding the bytes), so that no byte is copied into the client's memory"

// sinkLowWater is the SO_RCVLOWAT of a sink connection: the client wakes
// once per 256 KiB rather than once per segment. On a VM, wakeups and
// context switches cost more than moving the data.
const sinkLowWater = 256 << 10

// sinkChunk is the most one recv drops.
const sinkChunk = 1 << 20

// discardConn receives n bytes from c (until EOF when n < 0) and drops
// them in the kernel: the socket's counterpart of a shell's `> /dev/null`.
// It returns the number of bytes received.
func discardConn(c *net.TCPConn, n int64) (int64, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	// The kernel does not write into buf with MSG_TRUNC; its length is how
	// many bytes one call may drop.
	buf := make([]byte, sinkChunk)
	var got, lowWater int64
	var recvErr error
	err = raw.Read(func(fd uintptr) bool {
		for n < 0 || got < n {
			want := int64(sinkChunk)
			if n >= 0 {
				want = min(want, n-got)
			}
			// The last bytes of a body may be fewer than the low-water
			// mark: lower it so that they still wake the client.
			if lw := min(want, sinkLowWater); lw != lowWater {
				if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVLOWAT, int(lw)); err != nil {
					recvErr = fmt.Errorf("set SO_RCVLOWAT: %w", err)
					return true
				}
				lowWater = lw
			}
			m, _, err := unix.Recvfrom(int(fd), buf[:want], unix.MSG_TRUNC|unix.MSG_DONTWAIT)
			if errors.Is(err, unix.EAGAIN) {
				return false // wait until the socket is readable
			}
			if err != nil {
				recvErr = fmt.Errorf("recv: %w", err)
				return true
			}
			if m == 0 {
				return true // EOF
			}
			got += int64(m)
		}
		return true
	})
	if recvErr != nil {
		return got, recvErr
	}
	if err != nil {
		return got, err
	}
	if n >= 0 && got < n {
		return got, fmt.Errorf("connection closed after %d of %d bytes", got, n)
	}
	return got, nil
}
