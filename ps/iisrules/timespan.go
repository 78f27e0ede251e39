package iisrules

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// TimeSpanRange is a timeSpan attribute's range and granularity (the
// schema's validationType="timeSpanRange" validationParameter=
// "<minimum>,<maximum>,<granularity>", all in seconds): IIS refuses a value
// outside [Min, Max] or not a whole multiple of Granularity.
type TimeSpanRange struct {
	// Attribute is the IIS attribute, as a dotted path below the pool.
	Attribute string
	Min, Max  time.Duration
	// Granularity is what the value must be a whole multiple of.
	Granularity time.Duration
}

// The pool durations the contract sets.
var (
	// IdleTimeout: schema applicationPools/add/processModel/@idleTimeout,
	// timeSpanRange "0,2592000,60": whole minutes, at most 30 days.
	IdleTimeout = TimeSpanRange{Attribute: "processModel.idleTimeout", Max: 2592000 * time.Second, Granularity: time.Minute}
	// PeriodicRestart: schema applicationPools/add/recycling/periodicRestart/@time,
	// timeSpanRange "0,25920000,60": whole minutes, at most 300 days.
	PeriodicRestart = TimeSpanRange{Attribute: "recycling.periodicRestart.time", Max: 25920000 * time.Second, Granularity: time.Minute}
	// StartupTimeLimit: schema applicationPools/add/processModel/@startupTimeLimit,
	// timeSpanRange "1,4294967,1": whole seconds from 1 s.
	StartupTimeLimit = TimeSpanRange{Attribute: "processModel.startupTimeLimit", Min: time.Second, Max: 4294967 * time.Second, Granularity: time.Second}
	// ShutdownTimeLimit: schema applicationPools/add/processModel/@shutdownTimeLimit,
	// timeSpanRange "1,4294967,1": whole seconds from 1 s.
	ShutdownTimeLimit = TimeSpanRange{Attribute: "processModel.shutdownTimeLimit", Min: time.Second, Max: 4294967 * time.Second, Granularity: time.Second}
)

// Check returns an error saying what IIS takes when d is out of range or
// not a whole multiple of the granularity.
func (r TimeSpanRange) Check(d time.Duration) error {
	if d < r.Min || d > r.Max || d%r.Granularity != 0 {
		return fmt.Errorf("IIS takes %s %s", r.Attribute, r.Allowed())
	}
	return nil
}

// Allowed describes the range, as "in whole minutes from 0s to 30 days".
func (r TimeSpanRange) Allowed() string {
	unit := "whole seconds"
	switch r.Granularity {
	case time.Minute:
		unit = "whole minutes"
	case time.Second:
	default:
		unit = "multiples of " + r.Granularity.String()
	}
	return fmt.Sprintf("in %s from %s to %s", unit, humanDuration(r.Min), humanDuration(r.Max))
}

// humanDuration renders whole days as "30 days", anything else as Go does.
func humanDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}

// ParseTimeSpan reads the .NET TimeSpan "c" format without a sign, as IIS
// writes and reads timeSpan attributes: [d.]hh:mm[:ss[.fffffff]], such as
// "00:20:00" or "1.05:00:00". Hours go to 23, minutes and seconds to 59.
func ParseTimeSpan(v string) (time.Duration, error) {
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
