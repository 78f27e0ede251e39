package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"sync"
)

// Progress is told the bytes transferred so far and the total (-1 when
// unknown, as for a folder zipped on the fly or a streamed ZIP download). It
// is called from the goroutine doing the transfer, often; keep it cheap.
type Progress func(done, total int64)

// UploadOptions are the choices of an upload.
type UploadOptions struct {
	// Hot sends PATCH (the pools keep running) instead of PUT (the running
	// pools are stopped while the content is put in place).
	Hot bool
	// Clean replaces the folder's content instead of merging over it
	// (archives only).
	Clean bool
	// Progress, when set, follows the bytes sent.
	Progress Progress
}

// Upload sends src to path (a folder for an archive, a file otherwise).
func (c *Client) Upload(ctx context.Context, t Task, path string, src Source, opts UploadOptions) (*UploadResult, error) {
	method := http.MethodPut
	if opts.Hot {
		method = http.MethodPatch
	}
	var q url.Values
	if opts.Clean {
		q = url.Values{"clean": {"true"}}
	}
	r := request{method: method, path: taskPath(t, "/fs/"+filePath(path)), query: q}
	var out UploadResult
	if err := c.sendSource(ctx, r, src, opts.Progress, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// sendSource sends r with src as its body (opened again for each retry),
// following the bytes sent with progress when it is set, and decodes the
// JSON answer into out. A folder's zipping error is returned rather than
// the interrupted request it caused.
func (c *Client) sendSource(ctx context.Context, r request, src Source, progress Progress, out any) error {
	var mu sync.Mutex
	var last *zipReader
	r.contentType = src.ContentType()
	r.body = func() (io.ReadCloser, int64, error) {
		rc, size, err := src.Open()
		if err != nil {
			return nil, 0, err
		}
		if z, ok := rc.(*zipReader); ok {
			mu.Lock()
			last = z
			mu.Unlock()
		}
		if progress != nil {
			rc = &countingReader{rc: rc, total: size, progress: progress}
		}
		return rc, size, nil
	}
	err := c.doJSON(ctx, r, out)
	mu.Lock()
	z := last
	mu.Unlock()
	if z != nil {
		// The transport has closed the body; a zipping error explains a
		// failed request better than the interrupted body it caused.
		_ = z.Close()
		if zerr := z.Err(); zerr != nil {
			return zerr
		}
	}
	return err
}

// countingReader reports the bytes read through it.
type countingReader struct {
	rc       io.ReadCloser
	n, total int64
	progress Progress
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if n > 0 {
		r.n += int64(n)
		r.progress(r.n, r.total)
	}
	return n, err
}

func (r *countingReader) Close() error { return r.rc.Close() }

// Download is the outcome of a download.
type Download struct {
	// Name is the file name of Content-Disposition ("" when absent).
	Name string
	// Size is the bytes written.
	Size int64
	// ContentType is the answer's media type.
	ContentType string
}

// DownloadFile writes the file at path, or the folder at path as a ZIP, to w.
func (c *Client) DownloadFile(ctx context.Context, t Task, path string, w io.Writer, progress Progress) (*Download, error) {
	return c.download(ctx, request{method: http.MethodGet, path: taskPath(t, "/fs/"+filePath(path))}, w, progress)
}

// Screenshot writes a PNG of the site's page at path ("" is /) to w.
func (c *Client) Screenshot(ctx context.Context, t Task, path string, w io.Writer) (*Download, error) {
	var q url.Values
	if path != "" {
		q = url.Values{"path": {path}}
	}
	return c.download(ctx, request{method: http.MethodGet, path: taskPath(t, "/screenshot"), query: q}, w, nil)
}

// ProcDump writes a memory dump of a worker of pool ("" is the default
// pool), process pid (0 is the pool's first worker), to w.
func (c *Client) ProcDump(ctx context.Context, t Task, pool string, pid int, w io.Writer, progress Progress) (*Download, error) {
	q := url.Values{}
	if pool != "" {
		q.Set("appPoolName", pool)
	}
	if pid > 0 {
		q.Set("pid", strconv.Itoa(pid))
	}
	return c.download(ctx, request{method: http.MethodGet, path: taskPath(t, "/procdump"), query: q}, w, progress)
}

// ErrInterrupted is wrapped by a download that ended before its
// Content-Length.
var ErrInterrupted = errors.New("transfer interrupted")

func (c *Client) download(ctx context.Context, r request, w io.Writer, progress Progress) (*Download, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	d := &Download{ContentType: resp.Header.Get("Content-Type")}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		d.Name = params["filename"]
	}
	var body io.Reader = resp.Body
	if progress != nil {
		body = &countingReader{rc: resp.Body, total: resp.ContentLength, progress: progress}
	}
	n, err := io.Copy(w, body)
	d.Size = n
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			total := "an unknown size"
			if resp.ContentLength >= 0 {
				total = strconv.FormatInt(resp.ContentLength, 10) + " bytes"
			}
			return d, fmt.Errorf("%s %s: %w after %d of %s", r.method, resp.Request.URL.Path, ErrInterrupted, n, total)
		}
		return d, fmt.Errorf("%s %s: after %d bytes: %w", r.method, resp.Request.URL.Path, n, err)
	}
	return d, nil
}
