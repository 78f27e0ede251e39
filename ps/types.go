package ps

import "time"

// The argument and result types of the contract. Field names are the JSON
// names both backends read and write (camelCase). Durations travel as whole
// milliseconds; optional settings are pointers, nil meaning "IIS default".
// Fields that carry secrets are marked "Secret" in their doc: the host never
// logs arguments, and no backend may echo them in an error message.

// ConnectionInfo is the result of OpTestConnection.
type ConnectionInfo struct {
	// Backend is "iis" (PowerShell) or "iissim".
	Backend string `json:"backend"`
	// ProcessID is the PID of the process serving the contract.
	ProcessID int `json:"processId"`
}

// ServerInfo is the result of OpGetServerInfo.
type ServerInfo struct {
	// Backend is "iis" or "iissim".
	Backend string `json:"backend"`
	// IISVersion is the web server's version, such as "10.0", or "Unknown".
	IISVersion string `json:"iisVersion"`
	// W3SVCState is the World Wide Web Publishing Service state ("Running",
	// "Stopped", ...). iissim reports its own service's state.
	W3SVCState string `json:"w3svcState"`
	// AspNetCoreModule is true when the ASP.NET Core Module V2 is installed.
	AspNetCoreModule bool `json:"aspNetCoreModule"`
	// URLRewrite is true when the URL Rewrite module is installed.
	URLRewrite bool `json:"urlRewrite"`
	// ServiceStartTime is when the web server's service last started, so
	// that a restart can be told: iissim's service process, or for the
	// PowerShell backend the process W3SVC runs in (shared with WAS, so a
	// restart of W3SVC alone is not seen). Zero when the service is not
	// running.
	ServiceStartTime time.Time `json:"serviceStartTime,omitzero"`
}

// Attribute is one extension attribute: a name (an attribute of the element,
// or a dotted path into a child element such as "processModel.maxProcesses")
// and its value as text.
type Attribute struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// EnvVar is one environment variable of a pool's workers.
type EnvVar struct {
	// Name is the variable's name.
	Name string `json:"name"`
	// Value is Secret.
	Value string `json:"value"`
}

// AppPoolSpec is one pool to create.
type AppPoolSpec struct {
	// Name is the full IIS name (nomad-<alloc>-<task>[-<pool>]).
	Name string `json:"name"`
	// Identity is ApplicationPoolIdentity, LocalSystem, LocalService,
	// NetworkService or SpecificUser.
	Identity string `json:"identity,omitempty"`
	// Username is the account of a SpecificUser identity.
	Username string `json:"username,omitempty"`
	// Password is Secret.
	Password string `json:"password,omitempty"`
	// ManagedPipelineMode is Integrated or Classic.
	ManagedPipelineMode string `json:"managedPipelineMode,omitempty"`
	// ManagedRuntimeVersion is "v4.0", "v2.0" or "" (no managed code).
	ManagedRuntimeVersion *string `json:"managedRuntimeVersion,omitempty"`
	// Enable32BitAppOnWin64 runs the workers as 32-bit processes.
	Enable32BitAppOnWin64 *bool `json:"enable32BitAppOnWin64,omitempty"`
	// StartMode is OnDemand or AlwaysRunning.
	StartMode string `json:"startMode,omitempty"`
	// IdleTimeoutMs is processModel.idleTimeout.
	IdleTimeoutMs *int64 `json:"idleTimeoutMs,omitempty"`
	// DisallowOverlappingRotation is recycling.disallowOverlappingRotation.
	DisallowOverlappingRotation *bool `json:"disallowOverlappingRotation,omitempty"`
	// PeriodicRestartMs is recycling.periodicRestart.time.
	PeriodicRestartMs *int64 `json:"periodicRestartMs,omitempty"`
	// LoadBalancerCapabilities is failure.loadBalancerCapabilities:
	// HttpLevel (a stopped pool answers 503) or TcpLevel (connections drop).
	LoadBalancerCapabilities string `json:"loadBalancerCapabilities,omitempty"`
	// QueueLength is the pool's request queue length.
	QueueLength *int64 `json:"queueLength,omitempty"`
	// StartupTimeLimitMs is processModel.startupTimeLimit.
	StartupTimeLimitMs *int64 `json:"startupTimeLimitMs,omitempty"`
	// ShutdownTimeLimitMs is processModel.shutdownTimeLimit.
	ShutdownTimeLimitMs *int64 `json:"shutdownTimeLimitMs,omitempty"`
	// Attributes are the pool's extension attributes.
	Attributes []Attribute `json:"attributes,omitempty"`
	// EnvironmentVariables reach every worker process of the pool. Secret.
	EnvironmentVariables []EnvVar `json:"environmentVariables,omitempty"`
}

// VirtualDirectorySpec is one virtual directory of an application.
type VirtualDirectorySpec struct {
	// Alias is the path below the application, without a leading slash.
	Alias        string      `json:"alias"`
	PhysicalPath string      `json:"physicalPath"`
	Attributes   []Attribute `json:"attributes,omitempty"`
}

// ApplicationSpec is one application to create.
type ApplicationSpec struct {
	// Alias is the path below the site without a leading slash; "" is the root.
	Alias        string `json:"alias"`
	PhysicalPath string `json:"physicalPath"`
	// AppPool is the full IIS name of the application's pool.
	AppPool                  string                 `json:"appPool"`
	PreloadEnabled           *bool                  `json:"preloadEnabled,omitempty"`
	ServiceAutoStartEnabled  *bool                  `json:"serviceAutoStartEnabled,omitempty"`
	ServiceAutoStartProvider string                 `json:"serviceAutoStartProvider,omitempty"`
	VirtualDirectories       []VirtualDirectorySpec `json:"virtualDirectories,omitempty"`
	Attributes               []Attribute            `json:"attributes,omitempty"`
}

// BindingSpec is one site binding.
type BindingSpec struct {
	// Protocol is "http" or "https".
	Protocol string `json:"protocol"`
	// IPAddress is "*" or an address of the machine.
	IPAddress string `json:"ipAddress"`
	Port      int    `json:"port"`
	Hostname  string `json:"hostname,omitempty"`
	// RequireSNI sets the SNI flag of an https binding.
	RequireSNI bool `json:"requireSni,omitempty"`
	// CertificateThumbprint is the upper-case hex SHA-1 thumbprint of the
	// certificate of an https binding, in the machine's "My" store.
	CertificateThumbprint string `json:"certificateThumbprint,omitempty"`
}

// AutoStartProviderSpec is one serviceAutoStartProviders registration.
type AutoStartProviderSpec struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// TaskSiteSpec is the argument of OpNewTaskSite: everything one task needs.
type TaskSiteSpec struct {
	// SiteName is the site the task owns; empty when TargetWebsite is set.
	SiteName string `json:"siteName,omitempty"`
	// TargetWebsite is an existing site the applications are added to.
	TargetWebsite string `json:"targetWebsite,omitempty"`
	// DefaultAppPool is the full name of the site's default pool.
	DefaultAppPool     string                  `json:"defaultAppPool,omitempty"`
	AppPools           []AppPoolSpec           `json:"appPools"`
	Applications       []ApplicationSpec       `json:"applications"`
	Bindings           []BindingSpec           `json:"bindings,omitempty"`
	AutoStartProviders []AutoStartProviderSpec `json:"autoStartProviders,omitempty"`
}

// TaskSite is the result of OpNewTaskSite.
type TaskSite struct {
	// SiteName is the owned site or the target website.
	SiteName string `json:"siteName"`
	// SiteID is the IIS site id (lowest unused positive id for a new site).
	SiteID int64 `json:"siteId"`
	// AppPools are the full names of the pools created.
	AppPools []string `json:"appPools"`
	// Applications are the aliases created ("" for the root).
	Applications []string `json:"applications"`
	// AutoStartProviders are the providers this call registered. A provider
	// that was registered before with the same name and type is used as it
	// is and not listed; one with another type is refused (Conflict).
	AutoStartProviders []string `json:"autoStartProviders,omitempty"`
}

// RemoveTaskSiteArgs is the argument of OpRemoveTaskSite. Every name is
// optional; what does not exist any more is skipped, not an error.
type RemoveTaskSiteArgs struct {
	// SiteName is the owned site to remove.
	SiteName string `json:"siteName,omitempty"`
	// TargetWebsite and ApplicationAliases name the applications to remove
	// from a site the task does not own.
	TargetWebsite      string   `json:"targetWebsite,omitempty"`
	ApplicationAliases []string `json:"applicationAliases,omitempty"`
	// AppPools are the full names of the pools to remove.
	AppPools []string `json:"appPools,omitempty"`
	// AutoStartProviders are providers NewTaskSite registered (its result);
	// each is removed unless an application still references it.
	AutoStartProviders []string `json:"autoStartProviders,omitempty"`
	// Certificates are thumbprints of managed certificates to remove once no
	// binding of any site uses them.
	Certificates []string `json:"certificates,omitempty"`
}

// RemovedTaskSite is the result of OpRemoveTaskSite.
type RemovedTaskSite struct {
	// RemovedCertificates were deleted from the store.
	RemovedCertificates []string `json:"removedCertificates,omitempty"`
	// KeptCertificates are still used by another binding, or not managed.
	KeptCertificates []string `json:"keptCertificates,omitempty"`
}

// NameArgs is the argument of the operations that act on one named object.
type NameArgs struct {
	Name string `json:"name"`
}

// GetAppPoolArgs is the argument of OpGetAppPool.
type GetAppPoolArgs struct {
	// Names are full pool names; pools that do not exist are absent from the result.
	Names []string `json:"names"`
}

// StopAppPoolArgs is the argument of OpStopAppPool.
type StopAppPoolArgs struct {
	Name string `json:"name"`
	// WaitMs bounds how long the call waits for the pool's workers to exit;
	// 0 returns as soon as the stop was requested.
	WaitMs int64 `json:"waitMs,omitempty"`
}

// Pool states, as IIS's ObjectState.
const (
	StateStarting = "Starting"
	StateStarted  = "Started"
	StateStopping = "Stopping"
	StateStopped  = "Stopped"
	StateUnknown  = "Unknown"
)

// WorkerProcess is one worker (w3wp) of a pool.
type WorkerProcess struct {
	ProcessID int       `json:"processId"`
	StartTime time.Time `json:"startTime"`
	// State is Starting, Running, Stopping or Unknown.
	State string `json:"state"`
}

// AppPool is a pool's state.
type AppPool struct {
	Name string `json:"name"`
	// State is one of the State* constants.
	State           string          `json:"state"`
	StartMode       string          `json:"startMode,omitempty"`
	WorkerProcesses []WorkerProcess `json:"workerProcesses"`
	// StopReason says why IIS itself stopped a stopped pool:
	// StopReasonRapidFailProtection, or "" when it is not known (a stop by
	// someone). The PowerShell backend reads it from the WAS event 5002 of
	// the System log, newer than the last time it saw the pool started;
	// only GetAppPool sets it.
	StopReason string `json:"stopReason,omitempty"`
	// WorkerCrashes counts the pool's worker processes that exited on their
	// own (crashed, were killed) while the pool served, since the pool was
	// created or the web server's service last started (a new count starts
	// then). The PowerShell backend counts the WAS events 5009, 5010 and
	// 5011 of the System log naming the pool since the service's process
	// started (at most 1000 events per call); only GetAppPool sets it.
	WorkerCrashes int `json:"workerCrashes,omitempty"`
}

// StopReasonRapidFailProtection is the AppPool.StopReason of a pool that
// rapid-fail protection stopped because its worker processes crashed.
const StopReasonRapidFailProtection = "RapidFailProtection"

// Binding is a site binding as configured.
type Binding struct {
	Protocol              string `json:"protocol"`
	IPAddress             string `json:"ipAddress"`
	Port                  int    `json:"port"`
	Hostname              string `json:"hostname,omitempty"`
	RequireSNI            bool   `json:"requireSni,omitempty"`
	CertificateThumbprint string `json:"certificateThumbprint,omitempty"`
}

// VirtualDirectory is a virtual directory as configured.
type VirtualDirectory struct {
	// Path is "/" for the application's root directory, else "/<alias>".
	Path         string `json:"path"`
	PhysicalPath string `json:"physicalPath"`
}

// Application is an application as configured.
type Application struct {
	// Path is "/" or "/<alias>".
	Path               string             `json:"path"`
	AppPool            string             `json:"appPool"`
	VirtualDirectories []VirtualDirectory `json:"virtualDirectories"`
}

// Website is the result of OpGetWebsite.
type Website struct {
	Name string `json:"name"`
	ID   int64  `json:"id"`
	// State is Started, Stopped, ... as for pools.
	State        string        `json:"state"`
	Bindings     []Binding     `json:"bindings"`
	Applications []Application `json:"applications"`
	// LogDirectory is the folder of the site's W3C request logs
	// (W3SVC<id> below the server's log root).
	LogDirectory string `json:"logDirectory,omitempty"`
}

// ImportCertificateArgs is the argument of OpImportCertificate. Exactly one
// source is set: PfxPath (+ Password), CertPath + KeyPath (PEM), or SelfSigned.
type ImportCertificateArgs struct {
	PfxPath string `json:"pfxPath,omitempty"`
	// Password of the PFX file. Secret.
	Password string `json:"password,omitempty"`
	CertPath string `json:"certPath,omitempty"`
	KeyPath  string `json:"keyPath,omitempty"`
	// SelfSigned creates an RSA-2048 certificate valid for one year.
	SelfSigned bool `json:"selfSigned,omitempty"`
	// Hostname is the subject CN and a SAN of a self-signed certificate.
	Hostname string `json:"hostname,omitempty"`
}

// Certificate is the result of OpImportCertificate.
type Certificate struct {
	Thumbprint string    `json:"thumbprint"`
	Subject    string    `json:"subject"`
	NotAfter   time.Time `json:"notAfter"`
	// Managed is true when the certificate carries the "[MBN] " friendly-name
	// prefix (Managed By Nomad) and so may be removed by the driver.
	Managed bool `json:"managed"`
	// AlreadyPresent is true when the store held the certificate before the call.
	AlreadyPresent bool `json:"alreadyPresent"`
}

// RemoveCertificateArgs is the argument of OpRemoveCertificate.
type RemoveCertificateArgs struct {
	Thumbprint string `json:"thumbprint"`
}

// RemovedCertificate is the result of OpRemoveCertificate.
type RemovedCertificate struct {
	Removed bool `json:"removed"`
	// InUseBy lists "site/binding" users that kept it.
	InUseBy []string `json:"inUseBy,omitempty"`
}

// TaskDirectoryAclArgs is the argument of OpSetTaskDirectoryAcl.
type TaskDirectoryAclArgs struct {
	// AllocDir is the allocation directory; TaskName the task's directory in it.
	AllocDir string `json:"allocDir"`
	TaskName string `json:"taskName"`
	// Identities are the Windows account names of the task's pools.
	Identities []string `json:"identities"`
	// PermitIUSR grants IUSR read access to <task>/local.
	PermitIUSR bool `json:"permitIusr"`
}

// ManagedResources is the result of OpGetManagedResource.
type ManagedResources struct {
	Websites []ManagedResource `json:"websites"`
	AppPools []ManagedResource `json:"appPools"`
}

// ManagedResource is one driver-made site or pool.
type ManagedResource struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// Hook names of the admin extension scripts.
const (
	HookPreStart  = "PreStart"
	HookPostStart = "PostStart"
	HookPreStop   = "PreStop"
	HookPostStop  = "PostStop"
)

// HookContext is what a hook is told about the task.
type HookContext struct {
	AllocID   string   `json:"allocId"`
	TaskName  string   `json:"taskName"`
	JobName   string   `json:"jobName"`
	Namespace string   `json:"namespace"`
	TaskDir   string   `json:"taskDir"`
	SiteName  string   `json:"siteName"`
	AppPools  []string `json:"appPools"`
}

// InvokeHookArgs is the argument of OpInvokeHook.
type InvokeHookArgs struct {
	// Hook is one of the Hook* constants.
	Hook    string      `json:"hook"`
	Context HookContext `json:"context"`
}

// HookRun is one hook function (or executable) that ran.
type HookRun struct {
	Extension string `json:"extension"`
	Output    string `json:"output,omitempty"`
}

// HookResult is the result of OpInvokeHook. A failing hook is an error of
// kind InvalidArgument whose message is the script's own.
type HookResult struct {
	Runs []HookRun `json:"runs"`
}

// Extension is one admin extension script found in the extensions directory.
type Extension struct {
	Name string `json:"name"`
	Path string `json:"path"`
	// Status is "Loaded", "Failed" (with Error), or "Skipped" when the
	// backend cannot run that kind of file (iissim lists .ps1 scripts so).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Hooks are the hooks the script defines.
	Hooks []string `json:"hooks"`
}

// Extensions is the result of OpGetExtension.
type Extensions struct {
	Directory  string      `json:"directory"`
	Extensions []Extension `json:"extensions"`
}
