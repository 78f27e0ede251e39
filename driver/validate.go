package driver

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/nomad-iis/nomad-iis/ps/iisrules"
)

// Every check of a task's configuration happens in the validate*.go files
// (this one, validate_bindings.go, validate_helpers.go), before anything is
// created, and every error names the option (with its block index), the
// value and what is allowed. IIS's own rules (allowed values, ranges and
// granularity, name characters, binding conflicts) come from ps/iisrules,
// which iissim enforces too. The result is a taskPlan: the exact requests
// StartTask sends to the backend.

const (
	// maxBindings is the most binding blocks a task may have (nomad-iis 0.20).
	maxBindings = 64

	identityAppPool        = iisrules.IdentityApplicationPool
	identityLocalSystem    = "LocalSystem"
	identityLocalService   = "LocalService"
	identityNetworkService = "NetworkService"
	identitySpecificUser   = iisrules.IdentitySpecificUser

	// runtimeNone is how a job spells the empty managedRuntimeVersion (no
	// managed code).
	runtimeNone = "None"
)

var (
	identities       = iisrules.PoolIdentities
	pipelineModes    = iisrules.PipelineModes
	runtimeVersions  = jobRuntimeVersions()
	startModes       = iisrules.StartModes
	unavailableModes = iisrules.LoadBalancerCapabilities
	bindingTypes     = iisrules.BindingProtocols

	// attributeName is an IIS attribute, optionally inside child elements.
	attributeName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$`)
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
	// once holds the messages failOnce reported.
	once map[string]bool
	// paths confines the host paths the task names.
	paths hostPaths
}

func (v *validator) fail(field, format string, a ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
}

// failOnce reports err for field unless the same message was reported
// before for another field: a task name too long for IIS makes both the
// site's name and its default pool's name too long, and is one problem.
func (v *validator) failOnce(field string, err error) {
	if v.once[err.Error()] {
		return
	}
	if v.once == nil {
		v.once = map[string]bool{}
	}
	v.once[err.Error()] = true
	v.fail(field, "%v", err)
}

func (v *validator) warn(field, format string, a ...any) {
	v.warnings = append(v.warnings, fmt.Sprintf("%s: %s", field, fmt.Sprintf(format, a...)))
}

// planTask validates tc for the task cfg on a node configured with s and
// returns the plan StartTask carries out. hostEnv is the plugin's own
// environment, which the pools inherit anyway.
func planTask(tc *TaskConfig, cfg *drivers.TaskConfig, s *driverSettings, hostEnv []string) (*taskPlan, error) {
	taskDir := filepath.Join(cfg.AllocDir, cfg.Name)
	v := &validator{paths: hostPaths{taskDir: taskDir, allocDir: cfg.AllocDir, allowed: s.AllowedHostPaths}}
	p := &taskPlan{poolNames: map[string]string{}, permitIUSR: tc.PermitIUSR}

	apps := v.applications(tc, taskDir)
	used := map[string]bool{}
	for _, a := range apps {
		used[strings.ToLower(a.pool)] = true
	}
	pools := v.pools(tc, s, used[defaultPoolAlias])

	// The pools: the referenced ones, in the order given.
	env, dropped := buildEnv(cfg.Env, hostEnv, filepath.Join(taskDir, "tmp"))
	if len(dropped) > 0 {
		quoted := make([]string, len(dropped))
		for i, name := range dropped {
			quoted[i] = strconv.Quote(name)
		}
		v.warn("env", "empty value, not set for the application pools: %s (on Windows an empty value means unset, and IIS refuses empty values; a worker inherits the machine's value of such a variable, if it has one)", strings.Join(quoted, ", "))
	}
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
			v.failOnce(pp.field+".name", err)
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
		if rv == runtimeNone {
			rv = ""
		}
		spec.ManagedRuntimeVersion = &rv
	}
	spec.StartMode, _ = v.enum(field+".start_mode", pc.StartMode, startModes)
	spec.LoadBalancerCapabilities, _ = v.enum(field+".service_unavailable_response", pc.ServiceUnavailableResponse, unavailableModes)
	spec.Enable32BitAppOnWin64 = pc.Enable32BitAppOnWin64
	spec.DisallowOverlappingRotation = pc.DisableOverlappedRecycle
	spec.IdleTimeoutMs = v.duration(field+".idle_timeout", pc.IdleTimeout, iisrules.IdleTimeout)
	spec.PeriodicRestartMs = v.duration(field+".periodic_restart", pc.PeriodicRestart, iisrules.PeriodicRestart)
	spec.StartupTimeLimitMs = v.duration(field+".start_time_limit", pc.StartTimeLimit, iisrules.StartupTimeLimit)
	spec.ShutdownTimeLimitMs = v.duration(field+".shutdown_time_limit", pc.ShutdownTimeLimit, iisrules.ShutdownTimeLimit)
	if q := pc.QueueLength; q != nil {
		if r := iisrules.QueueLength; *q < r.Min || *q > r.Max {
			v.fail(field+".queue_length", "%d is out of range; use %d to %d (IIS's %s)", *q, r.Min, r.Max, r.Attribute)
		}
		spec.QueueLength = q
	}
	spec.Attributes = v.extensions(field, pc.Extensions, iisrules.PoolAttributes)
	return spec
}

// jobRuntimeVersions are iisrules.RuntimeVersions as a job spells them:
// the empty version (no managed code) is "None".
func jobRuntimeVersions() []string {
	out := make([]string, 0, len(iisrules.RuntimeVersions))
	for _, rv := range iisrules.RuntimeVersions {
		if rv == "" {
			rv = runtimeNone
		}
		out = append(out, rv)
	}
	return out
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
			Attributes:               v.extensions(field, ac.Extensions, iisrules.ApplicationAttributes),
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
				Attributes:   v.extensions(vfield, vc.Extensions, iisrules.VirtualDirectoryAttributes),
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
			v.failOnce("task", err)
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

// providers validates the service_auto_start_provider blocks. IIS keys
// providers by their exact, case-sensitive name: two blocks whose names
// differ only in case would make two providers, and an application that
// names a provider in another case than its block uses neither, so both
// are refused here.
func (v *validator) providers(tc *TaskConfig, p *taskPlan) {
	seen := map[string]string{}
	names := map[string]string{} // lower-cased name -> name
	for i, pc := range tc.ServiceAutoStartProviders {
		field := fmt.Sprintf("service_auto_start_provider[%d]", i)
		name, typ := strings.TrimSpace(pc.Name), strings.TrimSpace(pc.Type)
		if err := iisrules.CheckProviderName(name); err != nil {
			v.fail(field+".name", "must not be empty")
		}
		if typ == "" {
			v.fail(field+".type", "must not be empty; use the assembly-qualified type name")
		}
		if prev, dup := seen[strings.ToLower(name)]; dup {
			v.fail(field+".name", "%q is already the name of %s (IIS compares provider names case-sensitively, so names that differ only in case would make two providers)", name, prev)
		}
		seen[strings.ToLower(name)] = field
		names[strings.ToLower(name)] = name
		p.spec.AutoStartProviders = append(p.spec.AutoStartProviders, ps.AutoStartProviderSpec{Name: name, Type: typ})
	}
	for i, a := range tc.Applications {
		want := strings.TrimSpace(a.ServiceAutoStartProvider)
		if have, ok := names[strings.ToLower(want)]; ok && !iisrules.ProviderNameEqual(have, want) {
			v.fail(fmt.Sprintf("application[%d].service_auto_start_provider", i),
				"%q is not %q: IIS compares provider names case-sensitively; spell it as the service_auto_start_provider block does", want, have)
		}
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
