package driver

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/ps/iisrules"
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
		d, err := iisrules.ParseTimeSpan(v)
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
