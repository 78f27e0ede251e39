//go:build !windows

package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Probe sends w one GET of urlPath, forwarded as the frontend forwards a
// request for the file rel below the directory root, and returns the
// status the worker answered. iissim's overlapped switch warms a new
// worker up with it before any client request reaches that worker.
func Probe(ctx context.Context, w Worker, host, urlPath, root, rel string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+w.Addr+urlPath, nil)
	if err != nil {
		return 0, fmt.Errorf("warm-up request %s: %w", urlPath, err)
	}
	req.Host = host
	req.Header.Set(hdrToken, w.Token)
	req.Header.Set(hdrRoot, root)
	req.Header.Set(hdrRel, strings.TrimPrefix(rel, "/"))
	req.Header.Set("User-Agent", "nomad-iis warm-up")
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}).Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}
