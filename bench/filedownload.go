package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// FileDownload compares GET …/fs/local/file.bin with `cat file.bin >
// /dev/null` from the disk (the file dropped from the page cache before
// each sample) and from the page cache. With the page cache warm it uses
// two clients: one that drops the body in the kernel (the counterpart of
// `> /dev/null`: what the server delivers) and one that reads it into
// memory as most clients do. A bare sendfile(2) sender over loopback TCP,
// without HTTP, is measured with both as the socket's own limit.
func FileDownload(o Options, s *Server, size int64) ([]Row, error) {
	path := filepath.Join(s.TaskDir, "local", "file.bin")
	fileURL := s.URL("/fs/local/file.bin")
	sink := func() error {
		n, err := getToNull(fileURL)
		if err == nil && n != size {
			err = fmt.Errorf("GET %s: %d bytes, want %d", fileURL, n, size)
		}
		return err
	}
	read := func() error { _, _, err := get(fileURL); return err }
	cat := func() error { return devNull("", "cat", path) }
	// Dirty pages cannot be dropped: write the file out first.
	syscallSync()
	cold := func(f func() error) func() error {
		return func() error {
			if err := dropFromCache(path); err != nil {
				return fmt.Errorf("drop %s from the page cache: %w", path, err)
			}
			return f()
		}
	}
	c, err := alternate(o.Runs*2, cold(read), cold(cat))
	if err != nil {
		return nil, err
	}
	// One of each first, outside the measurement: the page cache is warm.
	for _, f := range []func() error{sink, read, cat} {
		if err := f(); err != nil {
			return nil, err
		}
	}
	w, err := alternate(o.Runs*2, sink, cat, read)
	if err != nil {
		return nil, err
	}
	bare, err := bareSendfile(o, path, size)
	if err != nil {
		return nil, err
	}
	o.logf("file download: cold read %v, cold cat %v; warm sink %v, cat %v, read %v; bare sink %v, bare read %v",
		c[0], c[1], w[0], w[1], w[2], bare[0], bare[1])
	med := func(xs []float64) time.Duration { return time.Duration(Median(xs)) }
	coldRead, coldCat := med(c[0]), med(c[1])
	warmSink, warmCat, warmRead := med(w[0]), med(w[1]), med(w[2])
	bareSink, bareRead := med(bare[0]), med(bare[1])
	coldRatio, sinkRatio := float64(coldCat)/float64(coldRead), float64(warmCat)/float64(warmSink)
	catText := func(d time.Duration) string {
		return fmt.Sprintf("%s (%s, `cat FILE > /dev/null`)", MiBps(size, d), Dur(d))
	}
	common := fmt.Sprintf("Over HTTP on 127.0.0.1 from the API server (a child process), which sends the file "+
		"with sendfile(2); %d runs per side, the sides alternated.", o.Runs*2)
	reader := " A Go client reads the body in 256 KiB reads, as curl or a browser copies it into its memory."
	return []Row{{
		ID: "4", What: fmt.Sprintf("Single-file download (%s) from disk, client reading into memory", MiB(size)),
		Ours: fmt.Sprintf("%s (%s)", MiBps(size, coldRead), Dur(coldRead)), Theirs: catText(coldCat),
		Ratio: coldRatio, Target: "≥ 0.5×", Met: coldRatio >= 0.5,
		Note: common + reader + " Before each sample of either side the file is dropped from the page cache " +
			"(posix_fadvise DONTNEED after a sync), so that both read it from the disk.",
	}, {
		ID: "4", What: fmt.Sprintf("Single-file download (%s) from the page cache, client discarding in the kernel", MiB(size)),
		Ours: fmt.Sprintf("%s (%s)", MiBps(size, warmSink), Dur(warmSink)), Theirs: catText(warmCat),
		Ratio: sinkRatio, Target: "≥ 0.5×", Met: sinkRatio >= 0.5,
		Note: common + " Page cache warm. The body is " + sinkMethod + ": what the server delivers, as `> /dev/null` is for cat. " +
			fmt.Sprintf("A bare sendfile sender over loopback TCP (no HTTP, no API) to the same client: %s (%s).",
				MiBps(size, bareSink), Dur(bareSink)),
	}, {
		ID: "4", What: fmt.Sprintf("Single-file download (%s) from the page cache, client reading into memory", MiB(size)),
		Ours: fmt.Sprintf("%s (%s)", MiBps(size, warmRead), Dur(warmRead)), Theirs: catText(warmCat),
		Ratio: float64(warmCat) / float64(warmRead), Target: "none (reported)", NoTarget: true,
		Note: common + " Page cache warm." + reader +
			fmt.Sprintf(" A bare sendfile sender over loopback TCP (no HTTP, no API) to the same reader: %s (%s). ",
				MiBps(size, bareRead), Dur(bareRead)) +
			"cat copies each byte once, from the page cache; a reading client copies it once too, after the TCP stack, " +
			"which is what keeps both socket figures below cat's on this machine.",
	}}, nil
}

// alternate runs the sides in turn, n times each, and returns the
// durations of each side.
func alternate(n int, sides ...func() error) ([][]float64, error) {
	out := make([][]float64, len(sides))
	for range n {
		for i, f := range sides {
			d, err := timed(f)
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], float64(d))
		}
	}
	return out, nil
}

// bareSendfile measures the sendfile mode (no HTTP) with the sink and the
// reading client, o.Runs times each, alternated.
func bareSendfile(o Options, path string, size int64) ([][]float64, error) {
	addr, stop, err := loopbackSender(o.Exe, path)
	if err != nil {
		return nil, err
	}
	defer stop()
	receive := func(discard bool) func() error {
		return func() error {
			n, err := loopbackCopy(addr, discard)
			if err == nil && n != size {
				err = fmt.Errorf("sendfile mode: %d bytes, want %d", n, size)
			}
			return err
		}
	}
	return alternate(o.Runs, receive(true), receive(false))
}

// getToNull sends an authenticated GET on a connection of its own and
// drops the body with discardConn. It returns the body size.
func getToNull(rawURL string) (int64, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, err
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Api-Key", APIKey)
	req.Close = true
	if err := req.Write(c); err != nil {
		return 0, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	// A small buffer: what it reads past the headers is the start of the
	// body, counted here rather than dropped by discardConn.
	br := bufio.NewReaderSize(c, 4096)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: status %d", rawURL, resp.StatusCode)
	}
	if resp.ContentLength < 0 || len(resp.TransferEncoding) > 0 {
		return 0, fmt.Errorf("GET %s: no Content-Length; the sink needs one", rawURL)
	}
	buffered := int64(br.Buffered())
	if buffered > resp.ContentLength {
		return 0, fmt.Errorf("GET %s: %d bytes after a body of %d", rawURL, buffered, resp.ContentLength)
	}
	n, err := discardConn(c.(*net.TCPConn), resp.ContentLength-buffered)
	return buffered + n, err
}

// SendfileMain is the "sendfile" mode of the benchreport binary: it listens
// on 127.0.0.1, writes the address on stdout, and sends the file at args[0]
// to every connection (sendfile(2)) until stdin closes. It is the reference
// for downloads without HTTP.
func SendfileMain(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: sendfile FILE")
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "sendfile: %v\n", err)
		return 1
	}
	fmt.Println(ln.Addr().String())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return 0
		}
		go func() {
			defer c.Close()
			f, err := os.Open(args[0])
			if err != nil {
				return
			}
			defer f.Close()
			_, _ = io.Copy(c, f)
		}()
	}
}

// loopbackSender runs the sendfile mode for path and returns its address
// and a function that stops it.
func loopbackSender(exe, path string) (string, func(), error) {
	cmd := exec.Command(exe, "sendfile", path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	var addr string
	if _, err := fmt.Fscanln(stdout, &addr); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return "", nil, fmt.Errorf("sendfile mode: %w", err)
	}
	return addr, func() { _ = stdin.Close(); _ = cmd.Wait() }, nil
}

// loopbackCopy receives everything the sender at addr sends: dropped with
// discardConn, or read as get reads a body. It returns the byte count.
func loopbackCopy(addr string, discard bool) (int64, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if discard {
		return discardConn(c.(*net.TCPConn), -1)
	}
	return readToEnd(c)
}
