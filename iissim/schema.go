//go:build !windows

package iissim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// attrKind is the value type of a configuration attribute.
type attrKind int

const (
	kindString attrKind = iota
	kindBool
	kindUint
	kindTimeSpan
	kindEnum
)

// attrSpec describes one attribute an extension may set: its type and, for
// enumerations, the allowed values.
type attrSpec struct {
	kind   attrKind
	values []string
}

func enum(values ...string) attrSpec { return attrSpec{kind: kindEnum, values: values} }

var (
	str      = attrSpec{kind: kindString}
	boolean  = attrSpec{kind: kindBool}
	uinteger = attrSpec{kind: kindUint}
	timespan = attrSpec{kind: kindTimeSpan}
)

// poolSchema lists the attributes of an application pool's <add> element
// and of its child elements (dotted names), as in IIS's schema
// (IIS_schema.xml, system.applicationHost/applicationPools).
var poolSchema = map[string]attrSpec{
	"queueLength":                              uinteger,
	"autoStart":                                boolean,
	"enable32BitAppOnWin64":                    boolean,
	"managedRuntimeVersion":                    str,
	"managedRuntimeLoader":                     str,
	"enableConfigurationOverride":              boolean,
	"managedPipelineMode":                      enum("Integrated", "Classic"),
	"CLRConfigFile":                            str,
	"passAnonymousToken":                       boolean,
	"startMode":                                enum("OnDemand", "AlwaysRunning"),
	"processModel.identityType":                enum(identities...),
	"processModel.userName":                    str,
	"processModel.password":                    str,
	"processModel.loadUserProfile":             boolean,
	"processModel.setProfileEnvironment":       boolean,
	"processModel.logonType":                   enum("LogonBatch", "LogonService"),
	"processModel.manualGroupMembership":       boolean,
	"processModel.idleTimeout":                 timespan,
	"processModel.idleTimeoutAction":           enum("Terminate", "Suspend"),
	"processModel.maxProcesses":                uinteger,
	"processModel.shutdownTimeLimit":           timespan,
	"processModel.startupTimeLimit":            timespan,
	"processModel.pingingEnabled":              boolean,
	"processModel.pingInterval":                timespan,
	"processModel.pingResponseTime":            timespan,
	"processModel.logEventOnProcessModel":      str,
	"recycling.disallowOverlappingRotation":    boolean,
	"recycling.disallowRotationOnConfigChange": boolean,
	"recycling.logEventOnRecycle":              str,
	"recycling.periodicRestart.memory":         uinteger,
	"recycling.periodicRestart.privateMemory":  uinteger,
	"recycling.periodicRestart.requests":       uinteger,
	"recycling.periodicRestart.time":           timespan,
	"failure.loadBalancerCapabilities":         enum("HttpLevel", "TcpLevel"),
	"failure.orphanWorkerProcess":              boolean,
	"failure.orphanActionExe":                  str,
	"failure.orphanActionParams":               str,
	"failure.rapidFailProtection":              boolean,
	"failure.rapidFailProtectionInterval":      timespan,
	"failure.rapidFailProtectionMaxCrashes":    uinteger,
	"failure.autoShutdownExe":                  str,
	"failure.autoShutdownParams":               str,
	"cpu.limit":                                uinteger,
	"cpu.action":                               enum("NoAction", "KillW3wp", "Throttle", "ThrottleUnderLoad"),
	"cpu.resetInterval":                        timespan,
	"cpu.smpAffinitized":                       boolean,
	"cpu.smpProcessorAffinityMask":             uinteger,
	"cpu.smpProcessorAffinityMask2":            uinteger,
	"cpu.processorGroup":                       uinteger,
	"cpu.numaNodeAssignment":                   enum("MostAvailableMemory", "WindowsScheduling"),
	"cpu.numaNodeAffinityMode":                 enum("Soft", "Hard"),
}

// appSchema lists the attributes of an <application> element an extension may set.
var appSchema = map[string]attrSpec{
	"preloadEnabled":           boolean,
	"serviceAutoStartEnabled":  boolean,
	"serviceAutoStartProvider": str,
	"enabledProtocols":         str,
}

// vdirSchema lists the attributes of a <virtualDirectory> element an extension may set.
var vdirSchema = map[string]attrSpec{
	"userName":          str,
	"password":          str,
	"logonMethod":       enum("Interactive", "Batch", "Network", "ClearText"),
	"allowSubDirConfig": boolean,
}

// identities are the values of processModel.identityType.
var identities = []string{"ApplicationPoolIdentity", "LocalSystem", "LocalService", "NetworkService", "SpecificUser"}

// checkAttributes validates extension attributes against a schema. IIS
// refuses unknown attribute names ("Unrecognized attribute") and values
// that do not parse; so does iissim, naming the attribute.
func checkAttributes(what string, schema map[string]attrSpec, attrs []ps.Attribute) error {
	for _, a := range attrs {
		spec, ok := schema[a.Name]
		if !ok {
			return invalidf("%s: unrecognized attribute %q", what, a.Name)
		}
		if err := spec.check(a.Value); err != nil {
			return invalidf("%s: attribute %q: %v", what, a.Name, err)
		}
	}
	return nil
}

// check validates one value.
func (s attrSpec) check(v string) error {
	switch s.kind {
	case kindBool:
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return fmt.Errorf("%q is not true or false", v)
		}
	case kindUint:
		if _, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err != nil {
			return fmt.Errorf("%q is not a non-negative integer", v)
		}
	case kindTimeSpan:
		if _, err := parseTimeSpan(v); err != nil {
			return err
		}
	case kindEnum:
		for _, allowed := range s.values {
			if strings.EqualFold(v, allowed) {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(s.values, ", "))
	}
	return nil
}

// parseTimeSpan reads the configuration's time span format,
// [d.]hh:mm:ss[.fffffff], as in "00:20:00" or "1.05:00:00".
func parseTimeSpan(v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	bad := fmt.Errorf("%q is not a time span ([d.]hh:mm:ss[.fffffff])", v)
	var days int64
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, bad
	}
	if d, h, ok := strings.Cut(parts[0], "."); ok {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil || n < 0 {
			return 0, bad
		}
		days, parts[0] = n, h
	}
	hours, err1 := strconv.ParseInt(parts[0], 10, 32)
	minutes, err2 := strconv.ParseInt(parts[1], 10, 32)
	secs, frac, _ := strings.Cut(parts[2], ".")
	seconds, err3 := strconv.ParseInt(secs, 10, 32)
	if err1 != nil || err2 != nil || err3 != nil || hours < 0 || hours > 23 || minutes < 0 || minutes > 59 || seconds < 0 || seconds > 59 {
		return 0, bad
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(hours)*time.Hour +
		time.Duration(minutes)*time.Minute + time.Duration(seconds)*time.Second
	if frac != "" {
		if len(frac) > 7 {
			return 0, bad
		}
		ticks, err := strconv.ParseInt(frac+strings.Repeat("0", 7-len(frac)), 10, 64)
		if err != nil || ticks < 0 {
			return 0, bad
		}
		d += time.Duration(ticks) * 100 * time.Nanosecond
	}
	return d, nil
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
		return canonical(v, "OnDemand", "AlwaysRunning")
	}
	if p.StartMode != "" {
		return p.StartMode
	}
	return "OnDemand"
}

func (p *poolConfig) loadBalancerCapabilities() string {
	if v, ok := attr(p.Attributes, "failure.loadBalancerCapabilities"); ok {
		return canonical(v, "HttpLevel", "TcpLevel")
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

// canonical returns the spelling of v among values, ignoring case.
func canonical(v string, values ...string) string {
	for _, c := range values {
		if strings.EqualFold(v, c) {
			return c
		}
	}
	return v
}
