package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func TestRender_Table(t *testing.T) {
	rows := []Row{
		{ID: "1", What: "host round trip", Ours: "40µs", Theirs: "8ms", Ratio: 200.4, Target: "≥ 50×", Met: true},
		{ID: "4", What: "file | download", Ours: "900 MiB/s", Theirs: "2000 MiB/s", Ratio: 0.4999, Target: "≥ 0.5×", Met: false, Note: "loopback"},
		{ID: "5", What: "status", Ours: "7000 req/s", Target: "≥ 5000 req/s", Met: true},
		{ID: "6", What: "task start", Ours: "p50 20ms", Target: "none", NoTarget: true},
	}
	var b strings.Builder
	m := Meta{Date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), GoVersion: "go1.26", OS: "linux/amd64", CPU: "cpu", Cores: 2, MemoryMiB: 1024, Runs: 5, Command: "make bench"}
	must.NoError(t, Render(&b, m, rows))
	out := b.String()
	for _, want := range []string{
		"| 2026-01-02 03:04 UTC |",
		"2 of 3 targets met.",
		"| 1 | host round trip | 40µs | 8ms | 200× | ≥ 50× | met |",
		"| 4 | file \\| download | 900 MiB/s | 2000 MiB/s | 0.49× | ≥ 0.5× | **not met** |",
		"| 5 | status | 7000 req/s | – | – | ≥ 5000 req/s | met |",
		"| 6 | task start | p50 20ms | – | – | none | measured |",
		"- **4 file | download**: loopback",
	} {
		must.StrContains(t, out, want)
	}
}

func TestStats(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"empty", nil, 0},
		{"odd", []float64{3, 1, 2}, 2},
		{"even", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { must.Eq(t, tc.want, Median(tc.xs)) })
	}
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(100-i) * time.Millisecond
	}
	must.Eq(t, 99*time.Millisecond, Percentile(ds, 99))
	must.Eq(t, 50*time.Millisecond, Percentile(ds, 50))
	must.Eq(t, "1.99×", FormatRatio(1.999))
	must.Eq(t, "52.9×", FormatRatio(52.99))
}
