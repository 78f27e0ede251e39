package iisrules

import (
	"fmt"
	"strconv"
	"strings"
)

// Enumerations of the pool settings the contract sets. The first value of
// each list is IIS's default. Values are matched case-insensitively (IIS
// reads enumeration names so) and written in the spelling given here.
var (
	// PoolIdentities are processModel.identityType's values
	// (schema: applicationPools/add/processModel/@identityType, enum
	// LocalSystem, LocalService, NetworkService, SpecificUser,
	// ApplicationPoolIdentity; default ApplicationPoolIdentity).
	PoolIdentities = []string{"ApplicationPoolIdentity", "LocalSystem", "LocalService", "NetworkService", "SpecificUser"}
	// PipelineModes are managedPipelineMode's values
	// (schema: applicationPools/add/@managedPipelineMode, enum Integrated, Classic).
	PipelineModes = []string{"Integrated", "Classic"}
	// StartModes are startMode's values
	// (schema: applicationPools/add/@startMode, enum OnDemand, AlwaysRunning).
	StartModes = []string{"OnDemand", "AlwaysRunning"}
	// LoadBalancerCapabilities are failure.loadBalancerCapabilities' values
	// (schema: applicationPools/add/failure/@loadBalancerCapabilities, enum
	// TcpLevel, HttpLevel; default HttpLevel).
	LoadBalancerCapabilities = []string{"HttpLevel", "TcpLevel"}
	// RuntimeVersions are the managedRuntimeVersion values the contract
	// sets: the schema types it as a free string, and IIS loads only the
	// CLR versions v4.0 and v2.0, or none ("", no managed code).
	RuntimeVersions = []string{"v4.0", "v2.0", ""}
	// BindingProtocols are the protocols of the bindings the contract makes
	// (lower-case, as IIS writes them).
	BindingProtocols = []string{"http", "https"}
)

// The identity values with behaviour of their own.
const (
	IdentityApplicationPool = "ApplicationPoolIdentity"
	IdentitySpecificUser    = "SpecificUser"
)

// Canonical returns the spelling of value in allowed, compared
// case-insensitively; ok is false when allowed does not hold it.
func Canonical(value string, allowed []string) (canonical string, ok bool) {
	for _, a := range allowed {
		if strings.EqualFold(value, a) {
			return a, true
		}
	}
	return "", false
}

// QuoteList renders `"a", "b" or "c"`, for error messages that say what is
// allowed.
func QuoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// IntRange is an integer attribute's inclusive range (the schema's
// validationType="integerRange").
type IntRange struct {
	// Attribute is the IIS attribute (or, for Port, the binding's part).
	Attribute string
	Min, Max  int64
}

// QueueLength is the pool's request queue length
// (schema: applicationPools/add/@queueLength, uint, integerRange "10,65535").
var QueueLength = IntRange{Attribute: "queueLength", Min: 10, Max: 65535}

// Port is a binding's TCP port: bindingInformation "<ip>:<port>:<host>",
// where HTTP.sys takes ports 1 to 65535.
var Port = IntRange{Attribute: "port", Min: 1, Max: 65535}

// Check returns an error saying what is allowed when n is out of range.
func (r IntRange) Check(n int64) error {
	if n < r.Min || n > r.Max {
		return fmt.Errorf("%d is out of range; IIS takes %s from %d to %d", n, r.Attribute, r.Min, r.Max)
	}
	return nil
}
