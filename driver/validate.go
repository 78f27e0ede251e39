package driver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
)

// Every check of a task's configuration happens here, before anything is
// created, and every error names the option (with its block index), the
// value and what is allowed. The result is a taskPlan: the exact requests
// StartTask sends to the backend.

const (
	// maxBindings is the most binding blocks a task may have (nomad-iis 0.20).
	maxBindings = 64

	identityAppPool        = "ApplicationPoolIdentity"
	identityLocalSystem    = "LocalSystem"
	identityLocalService   = "LocalService"
	identityNetworkService = "NetworkService"
	identitySpecificUser   = "SpecificUser"
)

var (
	identities       = []string{identityAppPool, identityLocalSystem, identityLocalService, identityNetworkService, identitySpecificUser}
	pipelineModes    = []string{"Integrated", "Classic"}
	runtimeVersions  = []string{"v4.0", "v2.0", "None"}
	startModes       = []string{"OnDemand", "AlwaysRunning"}
	unavailableModes = []string{"HttpLevel", "TcpLevel"}
	bindingTypes     = []string{"http", "https"}

	// attributeName is an IIS attribute, optionally inside child elements.
	attributeName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$`)
	// hostnamePattern is a host header: DNS labels, optionally behind "*.".
	hostnamePattern = regexp.MustCompile(`^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*$`)
	// nonHex matches what nomad-iis strips from a thumbprint (spaces and
	// the invisible characters a copy from the certificate dialog brings).
	nonHex = regexp.MustCompile(`[^0-9A-Fa-f]`)
)

// taskPlan is a validated task: the backend requests and what the driver
// keeps about them.
type taskPlan struct {
	// spec is the NewTaskSite request (certificate thumbprints of imported
	// certificates are filled in at start).
	spec ps.TaskSiteSpec
	// siteName is the site the task owns, or "" with a target website.
	siteName string
	// targetWebsite is the existing site the applications go to.
	targetWebsite string
	// poolNames maps each created pool's alias to its IIS name.
	poolNames map[string]string
	// defaultPool is the alias of the site's default pool.
	defaultPool string
	// certImports are the certificates to import before the site is made.
	certImports []certImport
	// contentDirs are application and virtual directory paths that the
	// placeholder may be copied into.
	contentDirs []string
	// identities are the Windows accounts of the pools, for the task's ACLs.
	identities []string
	// appLogFile is the absolute path (or glob) of the app's log, or "".
	appLogFile string
	// permitIUSR grants IUSR read access to the task's local directory.
	permitIUSR bool
	// warnings are accepted-but-ignored settings, reported as task events.
	warnings []string
}

// certImport is one certificate to import for a binding.
type certImport struct {
	binding int
	args    ps.ImportCertificateArgs
}

// validator collects errors and warnings while a plan is built.
type validator struct {
	errs     []error
	warnings []string
}

func (v *validator) fail(field, format string, a ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
}

func (v *validator) warn(field, format string, a ...any) {
	v.warnings = append(v.warnings, fmt.Sprintf("%s: %s", field, fmt.Sprintf(format, a...)))
}

// planTask validates tc for the task cfg on a node configured with s and
// returns the plan StartTask carries out. hostEnv is the plugin's own
// environment, which the pools inherit anyway.
func planTask(tc *TaskConfig, cfg *drivers.TaskConfig, s *driverSettings, hostEnv []string) (*taskPlan, error) {
	v := &validator{}
	taskDir := filepath.Join(cfg.AllocDir, cfg.Name)
	p := &taskPlan{poolNames: map[string]string{}, permitIUSR: tc.PermitIUSR}

	apps := v.applications(tc, taskDir)
	used := map[string]bool{}
	for _, a := range apps {
		used[strings.ToLower(a.pool)] = true
	}
	pools := v.pools(tc, s, used[defaultPoolAlias])

	// The pools: the referenced ones, in the order given.
	env := buildEnv(cfg.Env, hostEnv, filepath.Join(taskDir, "tmp"))
	poolByAlias := map[string]*plannedPool{}
	iisNames := map[string]string{}
	var created []string // aliases, in order
	for _, pp := range pools {
		key := strings.ToLower(pp.spec.Name)
		if !used[key] {
			if !pp.implicit {
				v.warn(pp.field, "application pool %q is used by no application and is not created", pp.spec.Name)
			}
			continue
		}
		name, err := poolName(cfg.AllocID, cfg.Name, pp.spec.Name)
		if err != nil {
			v.fail(pp.field+".name", "%v", err)
			continue
		}
		if other, dup := iisNames[strings.ToLower(name)]; dup {
			v.fail(pp.field+".name", "%q and %q both become the IIS name %q; rename one", other, pp.spec.Name, name)
			continue
		}
		iisNames[strings.ToLower(name)] = pp.spec.Name
		p.poolNames[pp.spec.Name] = name
		poolByAlias[key] = pp
		created = append(created, pp.spec.Name)
		spec := pp.spec
		spec.Name = name
		spec.EnvironmentVariables = env
		p.spec.AppPools = append(p.spec.AppPools, spec)
		p.identities = append(p.identities, accountOf(pp.spec.Identity, name, pp.spec.Username))
	}

	// The applications, with the IIS names of their pools.
	for _, a := range apps {
		pp, ok := poolByAlias[strings.ToLower(a.pool)]
		if !ok {
			continue // reported by applications() or above
		}
		a.spec.AppPool = p.poolNames[pp.spec.Name]
		p.spec.Applications = append(p.spec.Applications, a.spec)
		p.contentDirs = append(p.contentDirs, a.spec.PhysicalPath)
		for _, vd := range a.spec.VirtualDirectories {
			p.contentDirs = append(p.contentDirs, vd.PhysicalPath)
		}
	}
	if pp, ok := poolByAlias[defaultPoolAlias]; ok {
		p.defaultPool = pp.spec.Name
	} else if len(created) > 0 {
		p.defaultPool = created[0]
	}

	v.site(tc, cfg, s, p)
	v.providers(tc, p)
	p.appLogFile = v.appLogFile(tc.AppLogFile, taskDir)

	if len(v.errs) > 0 {
		return nil, joinErrors("invalid task config", v.errs)
	}
	p.warnings = v.warnings
	return p, nil
}

// plannedPool is one pool block, validated.
type plannedPool struct {
	field    string
	spec     ps.AppPoolSpec // Name is still the alias
	implicit bool
}

// pools validates the pool blocks, the deprecated ones first, and adds the
// implicit default pool when none is named "default" and an application
// uses it.
func (v *validator) pools(tc *TaskConfig, s *driverSettings, defaultUsed bool) []*plannedPool {
	var out []*plannedPool
	seen := map[string]string{}
	add := func(block string, i int, pc AppPoolConfig) {
		field := fmt.Sprintf("%s[%d]", block, i)
		spec := v.pool(field, pc, s)
		if prev, dup := seen[strings.ToLower(spec.Name)]; dup {
			v.fail(field+".name", "%q is already the name of %s; pool names must be unique (case-insensitively)", spec.Name, prev)
			return
		}
		seen[strings.ToLower(spec.Name)] = field
		out = append(out, &plannedPool{field: field, spec: spec})
	}
	for i, pc := range tc.DeprecatedApplicationPools {
		add("applicationPool", i, pc)
	}
	if len(tc.DeprecatedApplicationPools) > 0 {
		v.warn("applicationPool", "deprecated since nomad-iis 0.20; rename the block to application_pool")
	}
	for i, pc := range tc.ApplicationPools {
		add("application_pool", i, pc)
	}
	if _, ok := seen[defaultPoolAlias]; !ok && defaultUsed {
		field := "application_pool (the implicit default pool)"
		spec := v.pool(field, AppPoolConfig{Name: defaultPoolAlias, Identity: identityAppPool}, s)
		out = append(out, &plannedPool{field: field, spec: spec, implicit: true})
	}
	return out
}

// pool validates one application_pool block.
func (v *validator) pool(field string, pc AppPoolConfig, s *driverSettings) ps.AppPoolSpec {
	spec := ps.AppPoolSpec{Name: strings.TrimSpace(pc.Name)}
	switch n := len([]rune(spec.Name)); {
	case n == 0:
		v.fail(field+".name", "must not be empty")
	case n > maxPoolAliasLength:
		v.fail(field+".name", "%q has %d characters; use at most %d", pc.Name, n, maxPoolAliasLength)
	}

	identity := pc.Identity
	if identity == "" {
		identity = identityAppPool
	}
	if id, ok := v.enum(field+".identity", identity, identities); ok {
		spec.Identity = id
		if !allowedName(id, s.AllowedAppPoolIdentities) {
			v.fail(field+".identity", "%q is not allowed on this node; allowed_apppool_identities permits %s", id, quoteListOrNone(s.AllowedAppPoolIdentities))
		}
	}
	if spec.Identity == identitySpecificUser {
		user := strings.TrimSpace(pc.Username)
		switch {
		case user == "":
			v.fail(field+".username", "the SpecificUser identity needs a username")
		case !allowedName(user, s.AllowedAppPoolUsers):
			v.fail(field+".username", "%q is not allowed on this node; allowed_apppool_users permits %s", user, quoteListOrNone(s.AllowedAppPoolUsers))
		}
		spec.Username = user
		spec.Password = pc.Password
	} else if pc.Username != "" || pc.Password != "" {
		v.warn(field+".username", "username and password are used by the SpecificUser identity only and are ignored")
	}

	spec.ManagedPipelineMode, _ = v.enum(field+".managed_pipeline_mode", pc.ManagedPipelineMode, pipelineModes)
	if rv, ok := v.enum(field+".managed_runtime_version", pc.ManagedRuntimeVersion, runtimeVersions); ok && rv != "" {
		if rv == "None" {
			rv = ""
		}
		spec.ManagedRuntimeVersion = &rv
	}
	spec.StartMode, _ = v.enum(field+".start_mode", pc.StartMode, startModes)
	spec.LoadBalancerCapabilities, _ = v.enum(field+".service_unavailable_response", pc.ServiceUnavailableResponse, unavailableModes)
	spec.Enable32BitAppOnWin64 = pc.Enable32BitAppOnWin64
	spec.DisallowOverlappingRotation = pc.DisableOverlappedRecycle
	spec.IdleTimeoutMs = v.duration(field+".idle_timeout", pc.IdleTimeout, 0)
	spec.PeriodicRestartMs = v.duration(field+".periodic_restart", pc.PeriodicRestart, 0)
	spec.StartupTimeLimitMs = v.duration(field+".start_time_limit", pc.StartTimeLimit, time.Second)
	spec.ShutdownTimeLimitMs = v.duration(field+".shutdown_time_limit", pc.ShutdownTimeLimit, time.Second)
	if q := pc.QueueLength; q != nil {
		if *q < 10 || *q > 65535 {
			v.fail(field+".queue_length", "%d is out of range; use 10 to 65535", *q)
		}
		spec.QueueLength = q
	}
	spec.Attributes = v.extensions(field, pc.Extensions)
	return spec
}

// plannedApp is one application block, validated.
type plannedApp struct {
	pool string // alias
	spec ps.ApplicationSpec
}

// applications validates the application blocks.
func (v *validator) applications(tc *TaskConfig, taskDir string) []plannedApp {
	if len(tc.Applications) == 0 {
		v.fail("application", "at least one application block is required")
	}
	var out []plannedApp
	aliases := map[string]string{}
	for i, ac := range tc.Applications {
		field := fmt.Sprintf("application[%d]", i)
		spec := ps.ApplicationSpec{
			Alias:                    v.alias(field+".alias", ac.Alias),
			PhysicalPath:             v.physicalPath(field+".path", ac.Path, taskDir),
			PreloadEnabled:           ac.EnablePreload,
			ServiceAutoStartEnabled:  ac.ServiceAutoStartEnabled,
			ServiceAutoStartProvider: strings.TrimSpace(ac.ServiceAutoStartProvider),
			Attributes:               v.extensions(field, ac.Extensions),
		}
		if prev, dup := aliases[strings.ToLower(spec.Alias)]; dup {
			v.fail(field+".alias", "%q is already the alias of %s; aliases must be unique (case-insensitively)", displayAlias(spec.Alias), prev)
		}
		aliases[strings.ToLower(spec.Alias)] = field
		vdirs := map[string]string{}
		for j, vc := range ac.VirtualDirectories {
			vfield := fmt.Sprintf("%s.virtual_directory[%d]", field, j)
			alias := v.alias(vfield+".alias", vc.Alias)
			if alias == "" {
				v.fail(vfield+".alias", "%q is empty; a virtual directory needs an alias", vc.Alias)
			}
			if prev, dup := vdirs[strings.ToLower(alias)]; dup && alias != "" {
				v.fail(vfield+".alias", "%q is already the alias of %s", alias, prev)
			}
			vdirs[strings.ToLower(alias)] = vfield
			spec.VirtualDirectories = append(spec.VirtualDirectories, ps.VirtualDirectorySpec{
				Alias:        alias,
				PhysicalPath: v.physicalPath(vfield+".path", vc.Path, taskDir),
				Attributes:   v.extensions(vfield, vc.Extensions),
			})
		}
		pool := strings.TrimSpace(ac.ApplicationPool)
		if pool == "" {
			v.fail(field+".application_pool", "must not be empty; name an application_pool or leave it out for %q", defaultPoolAlias)
		}
		out = append(out, plannedApp{pool: pool, spec: spec})
	}
	poolKnown := map[string]bool{defaultPoolAlias: true}
	for _, pc := range append(append([]AppPoolConfig{}, tc.DeprecatedApplicationPools...), tc.ApplicationPools...) {
		poolKnown[strings.ToLower(strings.TrimSpace(pc.Name))] = true
	}
	for i, a := range out {
		if a.pool != "" && !poolKnown[strings.ToLower(a.pool)] {
			v.fail(fmt.Sprintf("application[%d].application_pool", i), "%q is not the name of any application_pool block of this task", a.pool)
		}
	}
	return out
}

// site validates target_website or the bindings of an owned site.
func (v *validator) site(tc *TaskConfig, cfg *drivers.TaskConfig, s *driverSettings, p *taskPlan) {
	target := strings.TrimSpace(tc.TargetWebsite)
	if target == "" {
		name, err := siteName(cfg.AllocID, cfg.Name)
		if err != nil {
			v.fail("task", "%v", err)
		}
		p.siteName = name
		p.spec.SiteName = name
		if pp, ok := p.poolNames[p.defaultPool]; ok {
			p.spec.DefaultAppPool = pp
		}
		v.bindings(tc, cfg, p)
		p.addPlaceholderRoot(s.PlaceholderAppPath)
		return
	}
	p.targetWebsite = target
	p.spec.TargetWebsite = target
	switch {
	case len(s.AllowedTargetWebsites) == 0:
		v.fail("target_website", "%q is not allowed: this node allows no target websites (allowed_target_websites is empty)", target)
	case !allowedName(target, s.AllowedTargetWebsites):
		v.fail("target_website", "%q is not allowed on this node; allowed_target_websites permits %s", target, quoteList(s.AllowedTargetWebsites))
	}
	if strings.HasPrefix(strings.ToLower(target), namePrefix) {
		v.fail("target_website", "%q starts with %q: sites of other Nomad tasks cannot be targets", target, namePrefix)
	}
	for i, a := range p.spec.Applications {
		if a.Alias == "" {
			v.fail(fmt.Sprintf("application[%d].alias", i), "a task with target_website cannot use the root application; give an alias")
		}
	}
	if len(tc.Bindings) > 0 {
		v.warn("binding", "ignored: a task with target_website uses the bindings of %q", target)
	}
}

// addPlaceholderRoot gives an owned site without a root application one
// that serves the placeholder directory on the default pool, as nomad-iis
// does (the IIS start page), when that directory exists.
func (p *taskPlan) addPlaceholderRoot(placeholder string) {
	if placeholder == "" || p.spec.DefaultAppPool == "" {
		return
	}
	for _, a := range p.spec.Applications {
		if a.Alias == "" {
			return
		}
	}
	if fi, err := os.Stat(placeholder); err != nil || !fi.IsDir() {
		return
	}
	root := ps.ApplicationSpec{PhysicalPath: placeholder, AppPool: p.spec.DefaultAppPool}
	p.spec.Applications = append([]ps.ApplicationSpec{root}, p.spec.Applications...)
}

// bindings validates the binding blocks and resolves their ports.
func (v *validator) bindings(tc *TaskConfig, cfg *drivers.TaskConfig, p *taskPlan) {
	if n := len(tc.Bindings); n > maxBindings {
		v.fail("binding", "%d blocks given; at most %d are allowed", n, maxBindings)
		return
	}
	taskDir := filepath.Join(cfg.AllocDir, cfg.Name)
	seen := map[string]string{}
	for i, bc := range tc.Bindings {
		field := fmt.Sprintf("binding[%d]", i)
		b := ps.BindingSpec{IPAddress: "*", Hostname: strings.ToLower(strings.TrimSpace(bc.Hostname))}
		b.Protocol, _ = v.enum(field+".type", bc.Type, bindingTypes)
		if b.Protocol != "" {
			b.Protocol = strings.ToLower(b.Protocol)
		}
		if b.Hostname != "" && !hostnamePattern.MatchString(b.Hostname) {
			v.fail(field+".hostname", "%q is not a host name; use letters, digits, dots and dashes, optionally behind \"*.\"", bc.Hostname)
		}
		if ip := strings.TrimSpace(bc.IPAddress); ip != "" && ip != "*" {
			if net.ParseIP(strings.Trim(ip, "[]")) == nil {
				v.fail(field+".ip_address", "%q is not an IP address; use an address of this node or \"*\"", bc.IPAddress)
			}
			b.IPAddress = ip
		}
		b.Port = v.port(field+".port", bc.Port, b.Hostname, cfg.Resources)
		key := fmt.Sprintf("%s:%d:%s", b.IPAddress, b.Port, b.Hostname)
		if prev, dup := seen[key]; dup && b.Port != 0 {
			v.fail(field, "binding %s is the same as %s", key, prev)
		}
		seen[key] = field

		if len(bc.Certificates) > 1 {
			v.fail(field+".certificate", "%d blocks given; at most one is allowed", len(bc.Certificates))
		}
		if b.Protocol == "https" {
			b.RequireSNI = bc.RequireSNI != nil && *bc.RequireSNI
			if b.RequireSNI && b.Hostname == "" {
				v.fail(field+".require_sni", "SNI needs a hostname; set hostname or leave require_sni out")
			}
			if len(bc.Certificates) == 0 {
				v.fail(field+".certificate", "an https binding needs a certificate block (thumbprint, pfx_file, cert_file + key_file or use_self_signed)")
			} else if imp, tp, ok := v.certificate(field+".certificate", bc.Certificates[0], b.Hostname, taskDir); ok {
				b.CertificateThumbprint = tp
				if imp != nil {
					p.certImports = append(p.certImports, certImport{binding: len(p.spec.Bindings), args: *imp})
				}
			}
		} else if b.Protocol == "http" {
			if bc.RequireSNI != nil && *bc.RequireSNI {
				v.warn(field+".require_sni", "ignored: SNI applies to https bindings only")
			}
			if len(bc.Certificates) > 0 {
				v.warn(field+".certificate", "ignored: certificates apply to https bindings only")
			}
		}
		p.spec.Bindings = append(p.spec.Bindings, b)
	}
}

// port resolves a binding's port: a label of the task's network, or a
// static number, which needs a hostname so that several sites share it.
func (v *validator) port(field, port, hostname string, res *drivers.Resources) int {
	port = strings.TrimSpace(port)
	if port == "" {
		v.fail(field, "must not be empty; use a port label of the group's network block")
		return 0
	}
	if n, err := strconv.Atoi(port); err == nil {
		switch {
		case n < 1 || n > 65535:
			v.fail(field, "%d is out of range; use 1 to 65535 or a port label", n)
		case hostname == "":
			v.fail(field, "static port %d needs a hostname (sites share static ports by host name); set hostname or use a port label", n)
		}
		return n
	}
	if n, ok := lookupPort(res, port); ok {
		return n
	}
	v.fail(field, "%q is not a port label of this task; use one of %s", port, quoteListOrNone(portLabels(res)))
	return 0
}

// certificate validates a certificate block. It returns the import to make
// (nil for a thumbprint) or the thumbprint to use.
func (v *validator) certificate(field string, cc CertificateConfig, hostname, taskDir string) (*ps.ImportCertificateArgs, string, bool) {
	var sources []string
	if cc.Thumbprint != "" {
		sources = append(sources, "thumbprint")
	}
	if cc.PfxFile != "" {
		sources = append(sources, "pfx_file")
	}
	if cc.CertFile != "" || cc.KeyFile != "" {
		sources = append(sources, "cert_file + key_file")
	}
	if cc.UseSelfSigned {
		sources = append(sources, "use_self_signed")
	}
	switch len(sources) {
	case 0:
		v.fail(field, "set one of thumbprint, pfx_file, cert_file + key_file or use_self_signed")
		return nil, "", false
	case 1:
	default:
		// nomad-iis used the first one; say which.
		v.warn(field, "%s are set; only %s is used", strings.Join(sources, ", "), sources[0])
	}
	switch sources[0] {
	case "thumbprint":
		tp := strings.ToUpper(nonHex.ReplaceAllString(cc.Thumbprint, ""))
		if len(tp) != 40 {
			v.fail(field+".thumbprint", "%q is not a SHA-1 thumbprint (40 hex digits)", cc.Thumbprint)
			return nil, "", false
		}
		return nil, tp, true
	case "pfx_file":
		path := v.existingFile(field+".pfx_file", cc.PfxFile, taskDir)
		return &ps.ImportCertificateArgs{PfxPath: path, Password: cc.Password}, "", path != ""
	case "cert_file + key_file":
		if cc.CertFile == "" || cc.KeyFile == "" {
			v.fail(field, "cert_file and key_file go together; set both (they may name the same file)")
			return nil, "", false
		}
		cert := v.existingFile(field+".cert_file", cc.CertFile, taskDir)
		key := v.existingFile(field+".key_file", cc.KeyFile, taskDir)
		return &ps.ImportCertificateArgs{CertPath: cert, KeyPath: key}, "", cert != "" && key != ""
	default:
		host := hostname
		if host == "" || strings.HasPrefix(host, "*.") {
			host = "localhost"
		}
		return &ps.ImportCertificateArgs{SelfSigned: true, Hostname: host}, "", true
	}
}

// providers validates the service_auto_start_provider blocks.
func (v *validator) providers(tc *TaskConfig, p *taskPlan) {
	seen := map[string]string{}
	for i, pc := range tc.ServiceAutoStartProviders {
		field := fmt.Sprintf("service_auto_start_provider[%d]", i)
		name, typ := strings.TrimSpace(pc.Name), strings.TrimSpace(pc.Type)
		if name == "" {
			v.fail(field+".name", "must not be empty")
		}
		if typ == "" {
			v.fail(field+".type", "must not be empty; use the assembly-qualified type name")
		}
		if prev, dup := seen[strings.ToLower(name)]; dup {
			v.fail(field+".name", "%q is already the name of %s", name, prev)
		}
		seen[strings.ToLower(name)] = field
		p.spec.AutoStartProviders = append(p.spec.AutoStartProviders, ps.AutoStartProviderSpec{Name: name, Type: typ})
	}
}

// appLogFile validates app_log_file: a path or glob below the task directory.
func (v *validator) appLogFile(path, taskDir string) string {
	if path == "" {
		return ""
	}
	rel := filepath.Clean(filepath.FromSlash(strings.TrimSpace(path)))
	if !filepath.IsLocal(rel) {
		v.fail("app_log_file", "%q is not a relative path inside the task directory (such as \"local/logs/stdout*.log\")", path)
		return ""
	}
	if _, err := filepath.Match(rel, ""); err != nil {
		v.fail("app_log_file", "%q is not a valid glob pattern", path)
		return ""
	}
	return filepath.Join(taskDir, rel)
}

// extensions validates extension blocks and returns them as attributes.
func (v *validator) extensions(field string, exts []ExtensionConfig) []ps.Attribute {
	var out []ps.Attribute
	for i, e := range exts {
		name := strings.TrimSpace(e.Name)
		if !attributeName.MatchString(name) {
			v.fail(fmt.Sprintf("%s.extension[%d].name", field, i), "%q is not an attribute name; use an IIS attribute such as \"autoStart\" or \"processModel.maxProcesses\"", e.Name)
			continue
		}
		out = append(out, ps.Attribute{Name: name, Value: e.Value})
	}
	return out
}

// enum matches value case-insensitively against allowed and returns the
// canonical spelling; "" is accepted as "not set". Numbers are not enum
// values, whatever their value.
func (v *validator) enum(field, value string, allowed []string) (string, bool) {
	if value == "" {
		return "", true
	}
	if c, ok := canonical(value, allowed); ok {
		return c, true
	}
	v.fail(field, "%q is not allowed; use %s", value, quoteList(allowed))
	return "", false
}

// duration parses an optional duration in milliseconds, at least min.
func (v *validator) duration(field, value string, min time.Duration) *int64 {
	if value == "" {
		return nil
	}
	d, err := ParseDuration(value)
	if err != nil {
		v.fail(field, "%v", err)
		return nil
	}
	if d < min {
		v.fail(field, "%q is too short; use at least %s", value, min)
		return nil
	}
	ms := d.Milliseconds()
	return &ms
}

// alias normalises an application or virtual directory alias: slashes
// around it are dropped ("/" is the root) and its segments checked.
func (v *validator) alias(field, alias string) string {
	a := strings.Trim(strings.TrimSpace(alias), "/")
	if a == "" {
		return ""
	}
	if strings.ContainsAny(a, `\?;:@&=+$,|"<>*`) {
		v.fail(field, "%q contains a character IIS does not allow in paths (one of \\?;:@&=+$,|\"<>*)", alias)
		return a
	}
	for _, seg := range strings.Split(a, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.TrimSpace(seg) != seg {
			v.fail(field, "%q has an empty, \".\" or \"..\" segment or spaces around one", alias)
			return a
		}
	}
	return a
}

// physicalPath resolves a path below the task directory unless absolute.
func (v *validator) physicalPath(field, path, taskDir string) string {
	path = strings.TrimSpace(path)
	if path == "" {
		v.fail(field, "must not be empty; use a directory such as \"local\"")
		return ""
	}
	return resolvePath(path, taskDir)
}

// existingFile resolves a file below the task directory and checks that it
// exists and is not empty.
func (v *validator) existingFile(field, path, taskDir string) string {
	abs := resolvePath(path, taskDir)
	fi, err := os.Stat(abs)
	switch {
	case err != nil:
		v.fail(field, "%q cannot be read: %v", path, errors.Unwrap(err))
		return ""
	case fi.IsDir():
		v.fail(field, "%q is a directory; name a file", path)
		return ""
	case fi.Size() == 0:
		v.fail(field, "%q is empty", path)
		return ""
	}
	return abs
}

// resolvePath makes path absolute against taskDir. Forward slashes are
// accepted on Windows, as in nomad-iis.
func resolvePath(path, taskDir string) string {
	path = filepath.FromSlash(path)
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(taskDir, path)
}

// lookupPort finds the host port of a port label: in the group network
// (Resources.Ports) or a task-level network block.
func lookupPort(res *drivers.Resources, label string) (int, bool) {
	if res == nil {
		return 0, false
	}
	if res.Ports != nil {
		if m, ok := res.Ports.Get(label); ok {
			return m.Value, true
		}
	}
	if res.NomadResources != nil {
		for _, n := range res.NomadResources.Networks {
			for _, p := range append(append(n.ReservedPorts[:0:0], n.ReservedPorts...), n.DynamicPorts...) {
				if p.Label == label {
					return p.Value, true
				}
			}
		}
	}
	return 0, false
}

// portLabels lists the port labels available to a task.
func portLabels(res *drivers.Resources) []string {
	var out []string
	if res == nil {
		return nil
	}
	if res.Ports != nil {
		for _, m := range *res.Ports {
			out = append(out, m.Label)
		}
	}
	if res.NomadResources != nil {
		for _, n := range res.NomadResources.Networks {
			for _, p := range append(append(n.ReservedPorts[:0:0], n.ReservedPorts...), n.DynamicPorts...) {
				out = append(out, p.Label)
			}
		}
	}
	return out
}

// accountOf is the Windows account a pool's workers run as.
func accountOf(identity, pool, username string) string {
	switch identity {
	case identityLocalSystem:
		return `NT AUTHORITY\SYSTEM`
	case identityLocalService:
		return `NT AUTHORITY\LOCAL SERVICE`
	case identityNetworkService:
		return `NT AUTHORITY\NETWORK SERVICE`
	case identitySpecificUser:
		return username
	default:
		return `IIS AppPool\` + pool
	}
}

// canonical finds value in allowed, ignoring case.
func canonical(value string, allowed []string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimSpace(value), a) {
			return a, true
		}
	}
	return "", false
}

// allowedName reports whether name is in list (case-insensitively) or list has "*".
func allowedName(name string, list []string) bool {
	for _, a := range list {
		if a == "*" || strings.EqualFold(strings.TrimSpace(a), name) {
			return true
		}
	}
	return false
}

// quoteList renders `"a", "b" or "c"`.
func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// quoteListOrNone is quoteList, or "none" for an empty list.
func quoteListOrNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return quoteList(items)
}

// displayAlias shows the root alias as "/".
func displayAlias(a string) string {
	if a == "" {
		return "/"
	}
	return a
}

// joinErrors renders several errors as one, each on its own line after a
// summary, so that `nomad alloc status` shows all of them at once.
func joinErrors(summary string, errs []error) error {
	if len(errs) == 1 {
		return fmt.Errorf("%s: %w", summary, errs[0])
	}
	return fmt.Errorf("%s (%d problems):\n%w", summary, len(errs), errors.Join(errs...))
}
