package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// LoadResult is one run of the status load generator.
type LoadResult struct {
	Requests  int
	Errors    int
	Elapsed   time.Duration
	Latencies []time.Duration
}

// RPS is requests per second.
func (l LoadResult) RPS() float64 { return float64(l.Requests) / l.Elapsed.Seconds() }

// Load sends GET url from conns keep-alive connections for d and records
// every request's latency.
func Load(url string, conns int, d time.Duration) LoadResult {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var (
		mu  sync.Mutex
		res LoadResult
		wg  sync.WaitGroup
	)
	start := time.Now()
	for range conns {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 4096)
			errs := 0
			for ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header.Set("X-Api-Key", APIKey)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.Latencies = append(res.Latencies, lat...)
			res.Errors += errs
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Requests = len(res.Latencies)
	return res
}

// StatusLoad measures GET …/status under 64 concurrent connections: rows
// for the request rate and the p99 latency.
func StatusLoad(o Options, s *Server) ([]Row, error) {
	url := s.URL("/status")
	if _, _, err := get(url); err != nil {
		return nil, err
	}
	d := 5 * time.Second
	if o.Quick {
		d = 2 * time.Second
	}
	Load(url, 64, time.Second) // open the connections, warm up
	if _, err := s.Stats(); err != nil {
		return nil, err
	}
	var rps []float64
	var p99s, p50s []float64
	total, errs := 0, 0
	for range o.Runs {
		r := Load(url, 64, d)
		rps = append(rps, r.RPS())
		p99s = append(p99s, float64(Percentile(r.Latencies, 99)))
		p50s = append(p50s, float64(Percentile(r.Latencies, 50)))
		total += r.Requests
		errs += r.Errors
	}
	st, err := s.Stats()
	if err != nil {
		return nil, err
	}
	o.logf("status: rps %v p99 %v, %d pool reads for %d requests", rps, p99s, st.PoolReads, total)
	mr, m99, m50 := Median(rps), time.Duration(Median(p99s)), time.Duration(Median(p50s))
	seconds := d.Seconds() * float64(o.Runs)
	note := fmt.Sprintf("A Go load generator (bench.Load) with 64 keep-alive connections, %d runs of %s, client and API server "+
		"(a child process) on the same 2 cores; %d requests, %d errors. Backend pool reads during the runs: %d "+
		"(%.1f per second, for %.0f requests per second): status answers from its cache (1 s TTL) and costs no "+
		"PowerShell round trip per request.", o.Runs, d, total, errs, st.PoolReads, float64(st.PoolReads)/seconds, mr)
	return []Row{
		{ID: "5", What: "GET …/status, 64 concurrent connections: throughput", Ours: fmt.Sprintf("%.0f req/s (p50 %s)", mr, Dur(m50)),
			Target: "≥ 5,000 req/s", Met: mr >= 5000 && errs == 0, Note: note},
		{ID: "5", What: "GET …/status, 64 concurrent connections: p99 latency", Ours: Dur(m99),
			Target: "< 20 ms", Met: m99 < 20*time.Millisecond && errs == 0},
	}, nil
}
