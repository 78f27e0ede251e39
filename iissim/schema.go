//go:build !windows

package iissim

import (
	"strconv"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/nomad-iis/nomad-iis/ps/iisrules"
)

// The extension attributes iissim accepts, with their types, ranges and
// granularity, are IIS's, from ps/iisrules.
var (
	poolSchema = iisrules.PoolAttributes
	appSchema  = iisrules.ApplicationAttributes
	vdirSchema = iisrules.VirtualDirectoryAttributes
)

// checkAttributes validates extension attributes against a schema. IIS
// refuses unknown attribute names ("Unrecognized attribute") and values
// that do not parse or are out of the schema's range; so does iissim,
// naming the attribute.
func checkAttributes(what string, schema map[string]iisrules.Attr, attrs []ps.Attribute) error {
	for _, a := range attrs {
		spec, ok := schema[a.Name]
		if !ok {
			return invalidf("%s: unrecognized attribute %q", what, a.Name)
		}
		if err := spec.Check(a.Value); err != nil {
			return invalidf("%s: attribute %q: %v", what, a.Name, err)
		}
	}
	return nil
}

// parseTimeSpan reads the configuration's time span format,
// [d.]hh:mm[:ss[.fffffff]], as in "00:20:00" or "1.05:00:00", with spaces
// around it ignored.
func parseTimeSpan(v string) (time.Duration, error) {
	return iisrules.ParseTimeSpan(strings.TrimSpace(v))
}

// attr returns the last value an extension attribute sets for name.
func attr(attrs []ps.Attribute, name string) (string, bool) {
	for i := len(attrs) - 1; i >= 0; i-- {
		if attrs[i].Name == name {
			return attrs[i].Value, true
		}
	}
	return "", false
}

// IIS defaults of the pool settings iissim acts on.
const (
	defaultIdleTimeout       = 20 * time.Minute
	defaultPeriodicRestart   = 1740 * time.Minute
	defaultShutdownTimeLimit = 90 * time.Second
	defaultStartupTimeLimit  = 90 * time.Second
)

// Effective pool settings: an extension attribute wins over the typed
// setting (extensions are applied last, as the driver of nomad-iis does),
// and the typed setting wins over IIS's default.

func (p *poolConfig) startMode() string {
	if v, ok := attr(p.Attributes, "startMode"); ok {
		return canonical(v, iisrules.StartModes...)
	}
	if p.StartMode != "" {
		return p.StartMode
	}
	return "OnDemand"
}

func (p *poolConfig) loadBalancerCapabilities() string {
	if v, ok := attr(p.Attributes, "failure.loadBalancerCapabilities"); ok {
		return canonical(v, iisrules.LoadBalancerCapabilities...)
	}
	if p.LoadBalancerCapabilities != "" {
		return p.LoadBalancerCapabilities
	}
	return "HttpLevel"
}

func (p *poolConfig) disallowOverlappingRotation() bool {
	if v, ok := attr(p.Attributes, "recycling.disallowOverlappingRotation"); ok {
		return strings.EqualFold(v, "true")
	}
	return p.DisallowOverlappingRotation != nil && *p.DisallowOverlappingRotation
}

// maxProcesses is the number of workers of the pool (a web garden when
// more than one). IIS's 0 means one per NUMA node; iissim counts one node.
func (p *poolConfig) maxProcesses() int {
	if v, ok := attr(p.Attributes, "processModel.maxProcesses"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			return min(n, 64)
		}
	}
	return 1
}

func (p *poolConfig) duration(attrName string, typed *int64, def time.Duration) time.Duration {
	if v, ok := attr(p.Attributes, attrName); ok {
		if d, err := parseTimeSpan(v); err == nil {
			return d
		}
	}
	if typed != nil {
		return time.Duration(*typed) * time.Millisecond
	}
	return def
}

func (p *poolConfig) idleTimeout() time.Duration {
	return p.duration("processModel.idleTimeout", p.IdleTimeoutMs, defaultIdleTimeout)
}

func (p *poolConfig) periodicRestart() time.Duration {
	return p.duration("recycling.periodicRestart.time", p.PeriodicRestartMs, defaultPeriodicRestart)
}

func (p *poolConfig) shutdownTimeLimit() time.Duration {
	return p.duration("processModel.shutdownTimeLimit", p.ShutdownTimeLimitMs, defaultShutdownTimeLimit)
}

func (p *poolConfig) startupTimeLimit() time.Duration {
	return p.duration("processModel.startupTimeLimit", p.StartupTimeLimitMs, defaultStartupTimeLimit)
}

// rapidFailProtection reports whether WAS stops the pool after maxCrashes
// worker crashes within interval (IIS: on, 5, 5 minutes).
func (p *poolConfig) rapidFailProtection() (enabled bool, maxCrashes int, interval time.Duration) {
	enabled, maxCrashes = true, 5
	if v, ok := attr(p.Attributes, "failure.rapidFailProtection"); ok {
		enabled = strings.EqualFold(v, "true")
	}
	if v, ok := attr(p.Attributes, "failure.rapidFailProtectionMaxCrashes"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			maxCrashes = n
		}
	}
	return enabled, maxCrashes, p.duration("failure.rapidFailProtectionInterval", nil, 5*time.Minute)
}

// canonical returns the spelling of v among values, ignoring case, or v
// itself when values does not hold it.
func canonical(v string, values ...string) string {
	if c, ok := iisrules.Canonical(v, values); ok {
		return c
	}
	return v
}
