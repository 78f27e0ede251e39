// Package deployload checks that a deploy drops no request: a load
// generator requests a site's versioned page and its asset from many
// connections while a deploy runs, and counts the requests that failed and
// the responses that were not entirely one version.
//
// Version n of the site is a page, index.html, that names its version and
// the SHA-256 of its asset, and the asset, app.js, whose content depends
// on n. A client requests the page, then the asset on the same connection:
// each body must equal one version's exactly (nothing torn or half
// written), and the asset must be of the page's version unless a switch
// ran between the two requests (Result.Unpaired). The API tests and the
// benchmark share it.
package deployload

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// assetBytes is the size of a version's asset: large enough that a
// response takes several reads, so that a torn file would show.
const assetBytes = 64 << 10

// Asset is the content of version n's asset.
func Asset(n int) []byte {
	line := []byte(fmt.Sprintf("/* asset of version %d */\n", n))
	out := bytes.Repeat(line, assetBytes/len(line)+1)
	return out[:assetBytes]
}

// Page is the content of version n's page.
func Page(n int) []byte {
	sum := sha256.Sum256(Asset(n))
	return []byte(fmt.Sprintf("<!DOCTYPE html><html><body><h1>version %d</h1><script src=\"app.js\" data-sha256=\"%s\"></script></body></html>\n",
		n, hex.EncodeToString(sum[:])))
}

// Files are version n's files by name.
func Files(n int) map[string][]byte {
	return map[string][]byte{"index.html": Page(n), "app.js": Asset(n)}
}

// Zip is version n as a ZIP archive.
func Zip(n int) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"index.html", "app.js"} {
		w, err := zw.Create(name)
		if err != nil {
			panic(err) // a bytes.Buffer does not fail
		}
		_, _ = w.Write(Files(n)[name])
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

var pageVersion = regexp.MustCompile(`<h1>version ([0-9]+)</h1>`)
var assetVersion = regexp.MustCompile(`^/\* asset of version ([0-9]+) \*/`)

// Result is what the clients saw.
type Result struct {
	// Requests counts every request sent; Failed those without a 200
	// answer (a transport error or another status).
	Requests, Failed int
	// Mixed counts the bodies that were not entirely one version's.
	Mixed int
	// pairs are the page and asset pairs of different versions.
	pairs []pair
	// Seen counts the page responses by version.
	Seen map[int]int
	// FirstProblem describes the first failed or mixed response.
	FirstProblem string
	// samples are every request's start and latency.
	samples []sample
}

// pair is a page and the asset requested after it, of another version.
type pair struct {
	page, asset int
	from, to    time.Time
}

// Window is when a switch ran: from the deploy request to its answer.
type Window struct {
	From, To time.Time
}

// Unpaired counts the page and asset pairs of different versions that no
// switch explains (no window overlaps the two requests), and describes the
// first one.
func (r *Result) Unpaired(switches []Window) (int, string) {
	n, first := 0, ""
	for _, p := range r.pairs {
		explained := false
		for _, w := range switches {
			if !w.From.After(p.to) && !w.To.Before(p.from) {
				explained = true
			}
		}
		if !explained {
			n++
			if first == "" {
				first = fmt.Sprintf("asset of version %d after the page of version %d, with no switch in between", p.asset, p.page)
			}
		}
	}
	return n, first
}

type sample struct {
	start time.Time
	took  time.Duration
}

// LatenciesBetween are the latencies of the requests that started in
// [from, to].
func (r *Result) LatenciesBetween(from, to time.Time) []time.Duration {
	var out []time.Duration
	for _, s := range r.samples {
		if !s.start.Before(from) && !s.start.After(to) {
			out = append(out, s.took)
		}
	}
	return out
}

// Run requests baseURL+"/index.html" and then baseURL+"/app.js" from conns
// keep-alive connections until ctx ends.
func Run(ctx context.Context, baseURL string, conns int) *Result {
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	res := &Result{Seen: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			local := &Result{Seen: map[int]int{}}
			for ctx.Err() == nil {
				from := time.Now()
				page, ok := local.get(ctx, client, baseURL+"/index.html", pageVersion, Page)
				if !ok {
					continue
				}
				local.Seen[page]++
				asset, ok := local.get(ctx, client, baseURL+"/app.js", assetVersion, Asset)
				if ok && asset != page {
					local.pairs = append(local.pairs, pair{page: page, asset: asset, from: from, to: time.Now()})
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.Requests += local.Requests
			res.Failed += local.Failed
			res.Mixed += local.Mixed
			for v, n := range local.Seen {
				res.Seen[v] += n
			}
			if res.FirstProblem == "" {
				res.FirstProblem = local.FirstProblem
			}
			res.samples = append(res.samples, local.samples...)
			res.pairs = append(res.pairs, local.pairs...)
		})
	}
	wg.Wait()
	return res
}

// get requests url and returns the version its body is, exactly; ok is
// false when the request failed or the body is no version's.
func (r *Result) get(ctx context.Context, client *http.Client, url string, re *regexp.Regexp, want func(int) []byte) (int, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		r.problem(&r.Failed, err.Error())
		return 0, false
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, false // the run ended; not a failure of the site
		}
		r.Requests++
		r.problem(&r.Failed, fmt.Sprintf("GET %s: %v", url, err))
		return 0, false
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	r.Requests++
	r.samples = append(r.samples, sample{start: start, took: time.Since(start)})
	switch {
	case err != nil && ctx.Err() != nil:
		r.Requests--
		return 0, false
	case err != nil:
		r.problem(&r.Failed, fmt.Sprintf("GET %s: read the body: %v", url, err))
		return 0, false
	case resp.StatusCode != http.StatusOK:
		r.problem(&r.Failed, fmt.Sprintf("GET %s: HTTP %d", url, resp.StatusCode))
		return 0, false
	}
	m := re.FindSubmatch(body)
	if m == nil {
		r.problem(&r.Mixed, fmt.Sprintf("GET %s: a body of no version (%d bytes)", url, len(body)))
		return 0, false
	}
	v, _ := strconv.Atoi(string(m[1]))
	if !bytes.Equal(body, want(v)) {
		r.problem(&r.Mixed, fmt.Sprintf("GET %s: a body that is not entirely version %d (%d bytes)", url, v, len(body)))
		return 0, false
	}
	return v, true
}

func (r *Result) problem(counter *int, what string) {
	*counter++
	if r.FirstProblem == "" {
		r.FirstProblem = what
	}
}
