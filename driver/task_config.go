package driver

import "github.com/hashicorp/nomad/plugins/shared/hclspec"

// The task's config { ... } block: the options of nomad-iis 0.20, attribute
// for attribute, plus app_log_file. Values are checked in validate.go; the
// spec only fixes names, types, required attributes and defaults.

var (
	// extensionSpec sets one attribute of the IIS element it sits in.
	extensionSpec = hclspec.NewObject(map[string]*hclspec.Spec{
		"name":  hclspec.NewAttr("name", "string", true),
		"value": hclspec.NewAttr("value", "string", true),
	})

	// appPoolSpec is one application_pool (or deprecated applicationPool) block.
	appPoolSpec = hclspec.NewObject(map[string]*hclspec.Spec{
		"name": hclspec.NewDefault(
			hclspec.NewAttr("name", "string", false), hclspec.NewLiteral(`"default"`)),
		"identity": hclspec.NewDefault(
			hclspec.NewAttr("identity", "string", false), hclspec.NewLiteral(`"ApplicationPoolIdentity"`)),
		"username":                     hclspec.NewAttr("username", "string", false),
		"password":                     hclspec.NewAttr("password", "string", false),
		"managed_pipeline_mode":        hclspec.NewAttr("managed_pipeline_mode", "string", false),
		"managed_runtime_version":      hclspec.NewAttr("managed_runtime_version", "string", false),
		"enable_32bit_app_on_win64":    hclspec.NewAttr("enable_32bit_app_on_win64", "bool", false),
		"start_mode":                   hclspec.NewAttr("start_mode", "string", false),
		"idle_timeout":                 hclspec.NewAttr("idle_timeout", "string", false),
		"disable_overlapped_recycle":   hclspec.NewAttr("disable_overlapped_recycle", "bool", false),
		"periodic_restart":             hclspec.NewAttr("periodic_restart", "string", false),
		"service_unavailable_response": hclspec.NewAttr("service_unavailable_response", "string", false),
		"queue_length":                 hclspec.NewAttr("queue_length", "number", false),
		"start_time_limit":             hclspec.NewAttr("start_time_limit", "string", false),
		"shutdown_time_limit":          hclspec.NewAttr("shutdown_time_limit", "string", false),
		"extension":                    hclspec.NewBlockList("extension", extensionSpec),
	})

	// virtualDirectorySpec is one virtual_directory of an application.
	virtualDirectorySpec = hclspec.NewObject(map[string]*hclspec.Spec{
		"alias":     hclspec.NewAttr("alias", "string", true),
		"path":      hclspec.NewAttr("path", "string", true),
		"extension": hclspec.NewBlockList("extension", extensionSpec),
	})

	// applicationSpec is one application block.
	applicationSpec = hclspec.NewObject(map[string]*hclspec.Spec{
		"path":  hclspec.NewAttr("path", "string", true),
		"alias": hclspec.NewAttr("alias", "string", false),
		"application_pool": hclspec.NewDefault(
			hclspec.NewAttr("application_pool", "string", false), hclspec.NewLiteral(`"default"`)),
		"enable_preload":              hclspec.NewAttr("enable_preload", "bool", false),
		"service_auto_start_enabled":  hclspec.NewAttr("service_auto_start_enabled", "bool", false),
		"service_auto_start_provider": hclspec.NewAttr("service_auto_start_provider", "string", false),
		"virtual_directory":           hclspec.NewBlockList("virtual_directory", virtualDirectorySpec),
		"extension":                   hclspec.NewBlockList("extension", extensionSpec),
	})

	// certificateSpec is the certificate of an https binding: one of a
	// thumbprint, a PFX file, a PEM pair or a self-signed certificate.
	certificateSpec = hclspec.NewObject(map[string]*hclspec.Spec{
		"thumbprint": hclspec.NewAttr("thumbprint", "string", false),
		"pfx_file":   hclspec.NewAttr("pfx_file", "string", false),
		"password":   hclspec.NewAttr("password", "string", false),
		"cert_file":  hclspec.NewAttr("cert_file", "string", false),
		"key_file":   hclspec.NewAttr("key_file", "string", false),
		"use_self_signed": hclspec.NewDefault(
			hclspec.NewAttr("use_self_signed", "bool", false), hclspec.NewLiteral("false")),
	})

	// bindingSpec is one site binding.
	bindingSpec = hclspec.NewObject(map[string]*hclspec.Spec{
		"type":        hclspec.NewAttr("type", "string", true),
		"port":        hclspec.NewAttr("port", "string", true),
		"hostname":    hclspec.NewAttr("hostname", "string", false),
		"require_sni": hclspec.NewAttr("require_sni", "bool", false),
		"ip_address":  hclspec.NewAttr("ip_address", "string", false),
		"certificate": hclspec.NewBlockList("certificate", certificateSpec),
	})

	// autoStartProviderSpec registers one serviceAutoStartProvider.
	autoStartProviderSpec = hclspec.NewObject(map[string]*hclspec.Spec{
		"name": hclspec.NewAttr("name", "string", true),
		"type": hclspec.NewAttr("type", "string", true),
	})

	// taskConfigSpec is returned by TaskConfigSchema.
	taskConfigSpec = hclspec.NewObject(map[string]*hclspec.Spec{
		"application_pool": hclspec.NewBlockList("application_pool", appPoolSpec),
		// Deprecated since nomad-iis 0.20; merged before application_pool.
		"applicationPool": hclspec.NewBlockList("applicationPool", appPoolSpec),
		"application":     hclspec.NewBlockList("application", applicationSpec),
		"target_website":  hclspec.NewAttr("target_website", "string", false),
		"permit_iusr": hclspec.NewDefault(
			hclspec.NewAttr("permit_iusr", "bool", false), hclspec.NewLiteral("true")),
		"binding":                     hclspec.NewBlockList("binding", bindingSpec),
		"service_auto_start_provider": hclspec.NewBlockList("service_auto_start_provider", autoStartProviderSpec),
		// Added by this driver.
		"app_log_file": hclspec.NewAttr("app_log_file", "string", false),
	})
)

// TaskConfig is a task's config block, decoded from taskConfigSpec.
type TaskConfig struct {
	// ApplicationPools are the pools of the task. When none is named
	// "default", a default pool with IIS defaults is added; pools no
	// application uses are not created.
	ApplicationPools []AppPoolConfig `codec:"application_pool"`
	// DeprecatedApplicationPools is the camelCase applicationPool block of
	// nomad-iis before 0.20, merged in front of ApplicationPools.
	DeprecatedApplicationPools []AppPoolConfig `codec:"applicationPool"`
	// Applications are the applications; at least one.
	Applications []ApplicationConfig `codec:"application"`
	// TargetWebsite, when set, adds the applications to this existing site
	// instead of creating one; the node must allow it.
	TargetWebsite string `codec:"target_website"`
	// PermitIUSR also grants IUSR read access to the task's local directory
	// (anonymous authentication). Default true.
	PermitIUSR bool `codec:"permit_iusr"`
	// Bindings are the site's bindings, at most 64.
	Bindings []BindingConfig `codec:"binding"`
	// ServiceAutoStartProviders are registered server-wide while the task runs.
	ServiceAutoStartProviders []AutoStartProviderConfig `codec:"service_auto_start_provider"`
	// AppLogFile is a file (or glob) below the task directory the app writes
	// its own log to; new lines are forwarded to the task's stderr. This is
	// an addition to nomad-iis 0.20.
	AppLogFile string `codec:"app_log_file"`
}

// AppPoolConfig is one application_pool block.
type AppPoolConfig struct {
	// Name is the alias applications refer to, at most 8 characters.
	Name string `codec:"name"`
	// Identity is ApplicationPoolIdentity, LocalSystem, LocalService,
	// NetworkService or SpecificUser.
	Identity string `codec:"identity"`
	// Username is the account of a SpecificUser identity.
	Username string `codec:"username"`
	// Password of Username; never logged.
	Password string `codec:"password"`
	// ManagedPipelineMode is Integrated or Classic.
	ManagedPipelineMode string `codec:"managed_pipeline_mode"`
	// ManagedRuntimeVersion is v4.0, v2.0 or None.
	ManagedRuntimeVersion string `codec:"managed_runtime_version"`
	// Enable32BitAppOnWin64 runs 32-bit workers.
	Enable32BitAppOnWin64 *bool `codec:"enable_32bit_app_on_win64"`
	// StartMode is OnDemand or AlwaysRunning.
	StartMode string `codec:"start_mode"`
	// IdleTimeout is processModel.idleTimeout.
	IdleTimeout string `codec:"idle_timeout"`
	// DisableOverlappedRecycle is recycling.disallowOverlappingRotation.
	DisableOverlappedRecycle *bool `codec:"disable_overlapped_recycle"`
	// PeriodicRestart is recycling.periodicRestart.time.
	PeriodicRestart string `codec:"periodic_restart"`
	// ServiceUnavailableResponse is HttpLevel (503) or TcpLevel (reset).
	ServiceUnavailableResponse string `codec:"service_unavailable_response"`
	// QueueLength is the pool's request queue length (10-65535).
	QueueLength *int64 `codec:"queue_length"`
	// StartTimeLimit is processModel.startupTimeLimit.
	StartTimeLimit string `codec:"start_time_limit"`
	// ShutdownTimeLimit is processModel.shutdownTimeLimit.
	ShutdownTimeLimit string `codec:"shutdown_time_limit"`
	// Extensions set further attributes of the pool element.
	Extensions []ExtensionConfig `codec:"extension"`
}

// ApplicationConfig is one application block.
type ApplicationConfig struct {
	// Path is the physical path; relative paths are below the task directory.
	Path string `codec:"path"`
	// Alias is the virtual path below the site; empty or "/" is the root.
	Alias string `codec:"alias"`
	// ApplicationPool is the alias of the pool; default "default".
	ApplicationPool string `codec:"application_pool"`
	// EnablePreload is preloadEnabled.
	EnablePreload *bool `codec:"enable_preload"`
	// ServiceAutoStartEnabled is serviceAutoStartEnabled.
	ServiceAutoStartEnabled *bool `codec:"service_auto_start_enabled"`
	// ServiceAutoStartProvider is serviceAutoStartProvider.
	ServiceAutoStartProvider string `codec:"service_auto_start_provider"`
	// VirtualDirectories are the application's virtual directories.
	VirtualDirectories []VirtualDirectoryConfig `codec:"virtual_directory"`
	// Extensions set further attributes of the application element.
	Extensions []ExtensionConfig `codec:"extension"`
}

// VirtualDirectoryConfig is one virtual_directory block.
type VirtualDirectoryConfig struct {
	// Alias is the path below the application.
	Alias string `codec:"alias"`
	// Path is the physical path; relative paths are below the task directory.
	Path string `codec:"path"`
	// Extensions set further attributes of the virtualDirectory element.
	Extensions []ExtensionConfig `codec:"extension"`
}

// BindingConfig is one binding block.
type BindingConfig struct {
	// Type is http or https.
	Type string `codec:"type"`
	// Port is a port label of the group's network block, or a static port
	// number (which needs a hostname).
	Port string `codec:"port"`
	// Hostname is the host header.
	Hostname string `codec:"hostname"`
	// RequireSNI sets the SNI flag of an https binding.
	RequireSNI *bool `codec:"require_sni"`
	// IPAddress is "*" (the default) or an address of the node.
	IPAddress string `codec:"ip_address"`
	// Certificates holds at most one certificate block, for https.
	Certificates []CertificateConfig `codec:"certificate"`
}

// CertificateConfig is the certificate block of an https binding.
type CertificateConfig struct {
	// Thumbprint names a certificate already in LocalMachine\My.
	Thumbprint string `codec:"thumbprint"`
	// PfxFile is a PKCS#12 file; relative paths are below the task directory.
	PfxFile string `codec:"pfx_file"`
	// Password of PfxFile; never logged.
	Password string `codec:"password"`
	// CertFile is a PEM certificate (chain) to use with KeyFile.
	CertFile string `codec:"cert_file"`
	// KeyFile is the PEM private key of CertFile; may be the same file.
	KeyFile string `codec:"key_file"`
	// UseSelfSigned creates a self-signed certificate for the hostname.
	UseSelfSigned bool `codec:"use_self_signed"`
}

// ExtensionConfig is one extension block: an attribute name and its value.
type ExtensionConfig struct {
	Name  string `codec:"name"`
	Value string `codec:"value"`
}

// AutoStartProviderConfig is one service_auto_start_provider block.
type AutoStartProviderConfig struct {
	// Name is the provider's name applications refer to.
	Name string `codec:"name"`
	// Type is the assembly-qualified IProcessHostPreloadClient type.
	Type string `codec:"type"`
}
