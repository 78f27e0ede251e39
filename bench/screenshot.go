package bench

import (
	"fmt"
	"time"
)

// Screenshot measures GET …/screenshot: the first (browser start) and the
// median of warm ones.
func Screenshot(o Options, s *Server) ([]Row, error) {
	url := s.URL("/screenshot")
	first, err := timed(func() error { _, _, err := get(url); return err })
	if err != nil {
		return nil, fmt.Errorf("first screenshot: %w", err)
	}
	var warm []time.Duration
	for range max(o.Runs, 5) {
		d, err := timed(func() error { _, _, err := get(url); return err })
		if err != nil {
			return nil, err
		}
		warm = append(warm, d)
	}
	o.logf("screenshot: first %v, warm %v", first, warm)
	p50 := MedianDuration(warm)
	return []Row{
		{ID: "7", What: "Screenshot, first request (browser start)", Ours: Dur(first), Target: "none (reported)",
			NoTarget: true, Note: fmt.Sprintf("Chromium through playwright-go, of the task's site (iissim); warm p50 over %d requests, browser kept between them.", len(warm))},
		{ID: "7", What: "Screenshot, warm p50", Ours: Dur(p50), Target: "< 1 s", Met: p50 < time.Second},
	}, nil
}
