package driver

import (
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	cases := []struct {
		in   string
		want time.Duration
	}{
		// The test vectors of nomad-iis 0.20 (TimeSpanHelperTests).
		{"1w", 7 * day},
		{"3d", 3 * day},
		{"0h", 0},
		{"1h", time.Hour},
		{"42m", 42 * time.Minute},
		{"42s", 42 * time.Second},
		{"741ms", 741 * time.Millisecond},
		{"7h2m", 7*time.Hour + 2*time.Minute},
		{"7h2m3s", 7*time.Hour + 2*time.Minute + 3*time.Second},
		{"00:00", 0},
		{"04:51", 4*time.Hour + 51*time.Minute},
		{"04:51:23", 4*time.Hour + 51*time.Minute + 23*time.Second},
		{"04:51:23.740", 4*time.Hour + 51*time.Minute + 23*time.Second + 740*time.Millisecond},
		{"07.04:51:23", 7*day + 4*time.Hour + 51*time.Minute + 23*time.Second},
		// More of the same grammar.
		{"1h30m", 90 * time.Minute},
		{"1h 30m", 90 * time.Minute},
		{"1w2d3h4m5s6ms", 9*day + 3*time.Hour + 4*time.Minute + 5*time.Second + 6*time.Millisecond},
		{"5m30ms", 5*time.Minute + 30*time.Millisecond},
		{"  20m  ", 20 * time.Minute},
		{"1.00:00:00", day},
		{"00:00:01.5", 1500 * time.Millisecond},
		{"00:00:00.0000001", 100 * time.Nanosecond},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseDuration(c.in)
			must.NoError(t, err)
			must.Eq(t, c.want, got)
		})
	}
}

func TestParseDuration_Rejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, msg string
	}{
		{"", "empty duration"},
		{"   ", "empty duration"},
		{"10", "has no unit"},
		{"1x", "unexpected unit"},
		{"30m1h", "unexpected unit"},
		{"1h1h", "unexpected unit"},
		{"h", "expected a number"},
		{"1.5h", "unexpected unit"},
		{"-1h", "expected a number"},
		{"-00:01", "negative"},
		{"24:00", "hours: 24 is out of range"},
		{"00:60", "minutes: 60 is out of range"},
		{"00:00:60", "seconds: 60 is out of range"},
		{"00:00.5", "needs seconds"},
		{"00:00:00.12345678", "1 to 7 digits"},
		{"1:2:3:4", "expected HH:mm"},
		{"a.01:00:00", "days"},
		{"99999999999999999999s", "too large"},
		{"999999999w", "too long"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			_, err := parseDuration(c.in)
			must.ErrorContains(t, err, c.msg)
			must.ErrorContains(t, err, `"1h30m"`)
		})
	}
}
