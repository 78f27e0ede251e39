package driver

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// durationHint is appended to every duration error: the two formats
// nomad-iis accepts.
const durationHint = `use units such as "1h30m", "741ms" and "1w", or "HH:mm[:ss[.fff]]" / "d.HH:mm:ss"`

// durationUnits are the unit suffixes of the compact format, in the order
// they must appear. "ms" comes before "m" and "s" in matching because it is
// the longer suffix.
var durationUnits = []struct {
	suffix string
	unit   time.Duration
}{
	{"w", 7 * 24 * time.Hour},
	{"d", 24 * time.Hour},
	{"h", time.Hour},
	{"m", time.Minute},
	{"s", time.Second},
	{"ms", time.Millisecond},
}

// parseDuration parses a duration in either format nomad-iis 0.20 accepts:
//
//   - compact units in the order w, d, h, m, s, ms, each at most once, with
//     optional spaces between them: "1w", "7h2m3s", "1h 30m", "741ms";
//   - the .NET TimeSpan "c" format: "HH:mm", "HH:mm:ss", "HH:mm:ss.fffffff",
//     "d.HH:mm:ss[.fffffff]".
//
// Negative durations and values beyond what time.Duration holds are errors.
func parseDuration(s string) (time.Duration, error) {
	v := strings.TrimSpace(s)
	if v == "" {
		return 0, fmt.Errorf("empty duration; %s", durationHint)
	}
	if strings.Contains(v, ":") {
		d, err := parseTimeSpan(v)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (%v); %s", s, err, durationHint)
		}
		return d, nil
	}
	d, err := parseCompact(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (%v); %s", s, err, durationHint)
	}
	return d, nil
}

// parseCompact parses "[Nw][Nd][Nh][Nm][Ns][Nms]".
func parseCompact(v string) (time.Duration, error) {
	var total time.Duration
	next := 0 // index into durationUnits of the smallest unit still allowed
	for v != "" {
		i := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("expected a number at %q", v)
		}
		n, err := strconv.ParseInt(v[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("number %q is too large", v[:i])
		}
		v = v[i:]
		unit := -1
		for k := next; k < len(durationUnits); k++ {
			sfx := durationUnits[k].suffix
			if !strings.HasPrefix(v, sfx) {
				continue
			}
			// "m" must not match the start of "ms".
			if sfx == "m" && strings.HasPrefix(v, "ms") {
				continue
			}
			unit = k
			break
		}
		if unit < 0 {
			if v == "" {
				return 0, fmt.Errorf("number %d has no unit", n)
			}
			return 0, fmt.Errorf("unexpected unit at %q (units go w, d, h, m, s, ms, each once)", v)
		}
		u := durationUnits[unit]
		if n > int64(math.MaxInt64/u.unit) {
			return 0, fmt.Errorf("%d%s is too long", n, u.suffix)
		}
		add := time.Duration(n) * u.unit
		if total > math.MaxInt64-add {
			return 0, fmt.Errorf("too long")
		}
		total += add
		v = strings.TrimLeft(v[len(u.suffix):], " \t")
		next = unit + 1
	}
	return total, nil
}

// parseTimeSpan parses the .NET "c" format without a sign:
// [d.]hh:mm[:ss[.fffffff]].
func parseTimeSpan(v string) (time.Duration, error) {
	if strings.HasPrefix(v, "-") {
		return 0, fmt.Errorf("negative durations are not allowed")
	}
	var days int64
	clock := v
	if dot := strings.IndexByte(v, '.'); dot >= 0 && dot < strings.IndexByte(v, ':') {
		// .NET allows 10675199 days (100 ns ticks); time.Duration, in
		// nanoseconds, holds about 106751.
		n, err := parseDigits(v[:dot], 0, int64(math.MaxInt64/(24*time.Hour)))
		if err != nil {
			return 0, fmt.Errorf("days: %v", err)
		}
		days = n
		clock = v[dot+1:]
	}
	var fraction string
	if dot := strings.IndexByte(clock, '.'); dot >= 0 {
		fraction = clock[dot+1:]
		clock = clock[:dot]
		if fraction == "" || len(fraction) > 7 {
			return 0, fmt.Errorf("fraction of a second must have 1 to 7 digits")
		}
	}
	parts := strings.Split(clock, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("expected HH:mm or HH:mm:ss")
	}
	if fraction != "" && len(parts) != 3 {
		return 0, fmt.Errorf("a fraction needs seconds (HH:mm:ss.fff)")
	}
	limits := []int64{23, 59, 59}
	names := []string{"hours", "minutes", "seconds"}
	units := []time.Duration{time.Hour, time.Minute, time.Second}
	total := time.Duration(days) * 24 * time.Hour
	for k, p := range parts {
		n, err := parseDigits(p, 0, limits[k])
		if err != nil {
			return 0, fmt.Errorf("%s: %v", names[k], err)
		}
		add := time.Duration(n) * units[k]
		if total > math.MaxInt64-add {
			return 0, fmt.Errorf("too long")
		}
		total += add
	}
	if fraction != "" {
		n, err := parseDigits(fraction, 0, 9999999)
		if err != nil {
			return 0, fmt.Errorf("fraction: %v", err)
		}
		for range 7 - len(fraction) {
			n *= 10
		}
		add := time.Duration(n) * 100 // 100 ns ticks
		if total > math.MaxInt64-add {
			return 0, fmt.Errorf("too long")
		}
		total += add
	}
	return total, nil
}

// parseDigits parses a string of ASCII digits within [lo, hi].
func parseDigits(s string, lo, hi int64) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("missing number")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q is not a number", s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s is out of range %d-%d", s, lo, hi)
	}
	return n, nil
}
