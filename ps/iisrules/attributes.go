package iisrules

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AttrType is the value type of a configuration attribute.
type AttrType int

// The attribute types of the schema the contract's extension attributes use.
const (
	TypeString AttrType = iota
	TypeBool
	TypeUint
	TypeInt
	TypeTimeSpan
	TypeEnum
)

// Attr is one attribute an extension block may set: its type, and its
// enumeration values, integer range or time span range when the schema
// gives one.
type Attr struct {
	Type   AttrType
	Values []string
	Range  *IntRange
	Span   *TimeSpanRange
}

func enum(values ...string) Attr { return Attr{Type: TypeEnum, Values: values} }

func uintIn(name string, lo, hi int64) Attr {
	return Attr{Type: TypeUint, Range: &IntRange{Attribute: name, Min: lo, Max: hi}}
}

func span(r TimeSpanRange) Attr { return Attr{Type: TypeTimeSpan, Span: &r} }

func spanIn(name string, lo, hi, step int64) Attr {
	return span(TimeSpanRange{Attribute: name, Min: time.Duration(lo) * time.Second, Max: time.Duration(hi) * time.Second, Granularity: time.Duration(step) * time.Second})
}

var (
	str     = Attr{Type: TypeString}
	boolean = Attr{Type: TypeBool}
	uint32v = Attr{Type: TypeUint}
)

// PoolAttributes are the attributes of an application pool's <add> element
// and its child elements (dotted names) that an extension may set, typed as
// in the schema (system.applicationHost/applicationPools). "flags" values
// are kept as text.
var PoolAttributes = map[string]Attr{
	"queueLength":                              {Type: TypeUint, Range: &QueueLength},
	"autoStart":                                boolean,
	"enable32BitAppOnWin64":                    boolean,
	"managedRuntimeVersion":                    str,
	"managedRuntimeLoader":                     str,
	"enableConfigurationOverride":              boolean,
	"managedPipelineMode":                      enum(PipelineModes...),
	"CLRConfigFile":                            str,
	"passAnonymousToken":                       boolean,
	"startMode":                                enum(StartModes...),
	"processModel.identityType":                enum(PoolIdentities...),
	"processModel.userName":                    str,
	"processModel.password":                    str,
	"processModel.loadUserProfile":             boolean,
	"processModel.setProfileEnvironment":       boolean,
	"processModel.logonType":                   enum("LogonBatch", "LogonService"),
	"processModel.manualGroupMembership":       boolean,
	"processModel.idleTimeout":                 span(IdleTimeout),
	"processModel.idleTimeoutAction":           enum("Terminate", "Suspend"),
	"processModel.maxProcesses":                uintIn("processModel.maxProcesses", 0, 2147483647),
	"processModel.shutdownTimeLimit":           span(ShutdownTimeLimit),
	"processModel.startupTimeLimit":            span(StartupTimeLimit),
	"processModel.pingingEnabled":              boolean,
	"processModel.pingInterval":                spanIn("processModel.pingInterval", 1, 4294967, 1),
	"processModel.pingResponseTime":            spanIn("processModel.pingResponseTime", 1, 4294967, 1),
	"processModel.logEventOnProcessModel":      str,
	"recycling.disallowOverlappingRotation":    boolean,
	"recycling.disallowRotationOnConfigChange": boolean,
	"recycling.logEventOnRecycle":              str,
	"recycling.periodicRestart.memory":         uint32v,
	"recycling.periodicRestart.privateMemory":  uint32v,
	"recycling.periodicRestart.requests":       uint32v,
	"recycling.periodicRestart.time":           span(PeriodicRestart),
	"failure.loadBalancerCapabilities":         enum(LoadBalancerCapabilities...),
	"failure.orphanWorkerProcess":              boolean,
	"failure.orphanActionExe":                  str,
	"failure.orphanActionParams":               str,
	"failure.rapidFailProtection":              boolean,
	"failure.rapidFailProtectionInterval":      spanIn("failure.rapidFailProtectionInterval", 60, 8640000, 60),
	"failure.rapidFailProtectionMaxCrashes":    uintIn("failure.rapidFailProtectionMaxCrashes", 1, 2147483647),
	"failure.autoShutdownExe":                  str,
	"failure.autoShutdownParams":               str,
	"cpu.limit":                                uintIn("cpu.limit", 0, 100000),
	"cpu.action":                               enum("NoAction", "KillW3wp", "Throttle", "ThrottleUnderLoad"),
	"cpu.resetInterval":                        spanIn("cpu.resetInterval", 0, 86400, 60),
	"cpu.smpAffinitized":                       boolean,
	"cpu.smpProcessorAffinityMask":             uint32v,
	"cpu.smpProcessorAffinityMask2":            uint32v,
	"cpu.processorGroup":                       {Type: TypeInt, Range: &IntRange{Attribute: "cpu.processorGroup", Min: 0, Max: 2147483647}},
	"cpu.numaNodeAssignment":                   enum("MostAvailableMemory", "WindowsScheduling"),
	"cpu.numaNodeAffinityMode":                 enum("Soft", "Hard"),
}

// ApplicationAttributes are the attributes of an <application> element an
// extension may set (schema: sites/site/application).
var ApplicationAttributes = map[string]Attr{
	"preloadEnabled":           boolean,
	"serviceAutoStartEnabled":  boolean,
	"serviceAutoStartProvider": str,
	"enabledProtocols":         str,
}

// VirtualDirectoryAttributes are the attributes of a <virtualDirectory>
// element an extension may set (schema: sites/site/application/virtualDirectory).
var VirtualDirectoryAttributes = map[string]Attr{
	"userName":          str,
	"password":          str,
	"logonMethod":       enum("Interactive", "Batch", "Network", "ClearText"),
	"allowSubDirConfig": boolean,
}

// Check validates one value given as text. The error says what the
// attribute takes and never repeats a string value (it may be a secret).
func (a Attr) Check(v string) error {
	switch a.Type {
	case TypeBool:
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return fmt.Errorf("%q is not true or false", v)
		}
	case TypeUint, TypeInt:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 || n > 4294967295 || (a.Type == TypeInt && n > 2147483647) {
			return fmt.Errorf("%q is not a non-negative integer", v)
		}
		if a.Range != nil {
			return a.Range.Check(n)
		}
	case TypeTimeSpan:
		d, err := ParseTimeSpan(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not a time span ([d.]hh:mm[:ss[.fffffff]]): %v", v, err)
		}
		if a.Span != nil {
			if err := a.Span.Check(d); err != nil {
				return fmt.Errorf("%q: %w", v, err)
			}
		}
	case TypeEnum:
		if _, ok := Canonical(v, a.Values); !ok {
			return fmt.Errorf("%q is not one of %s", v, strings.Join(a.Values, ", "))
		}
	}
	return nil
}
