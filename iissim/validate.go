//go:build !windows

package iissim

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/nomad-iis/nomad-iis/ps/iisrules"
)

// Every rule of IIS that iissim enforces here (allowed values, ranges and
// granularity, name characters, provider name case, binding conflicts)
// comes from ps/iisrules, the tables the driver validates jobs with.

// checkTaskSite validates a NewTaskSite request against itself and the
// current configuration, before anything changes. It normalises the spec
// in place (aliases trimmed, protocols lower-case, thumbprints upper-case).
// Ports are checked by the caller, which knows the listeners.
func checkTaskSite(cfg *appHostConfig, certs certStore, spec *ps.TaskSiteSpec) error {
	if (spec.SiteName == "") == (spec.TargetWebsite == "") {
		return invalidf("give either siteName or targetWebsite")
	}
	if len(spec.Applications) == 0 {
		return invalidf("applications: at least one application is required")
	}
	pools, err := checkPools(cfg, spec.AppPools)
	if err != nil {
		return err
	}
	poolKnown := func(name string) bool { return pools[strings.ToLower(name)] || cfg.pool(name) != nil }
	if spec.DefaultAppPool != "" && !poolKnown(spec.DefaultAppPool) {
		return invalidf("defaultAppPool: application pool %q does not exist", spec.DefaultAppPool)
	}
	// Provider names are IIS collection keys compared case-sensitively.
	providers := map[string]bool{}
	for i, p := range spec.AutoStartProviders {
		if strings.TrimSpace(p.Name) == "" || strings.TrimSpace(p.Type) == "" {
			return invalidf("autoStartProviders[%d]: name and type are required", i)
		}
		if err := iisrules.CheckProviderName(p.Name); err != nil {
			return invalidf("autoStartProviders[%d].name: %v", i, err)
		}
		if providers[p.Name] {
			return invalidf("autoStartProviders[%d].name: provider %q is given twice", i, p.Name)
		}
		providers[p.Name] = true
	}
	// A provider registered before (by an administrator or another task) is
	// reused as it is, never rewritten: asking for it with another type is
	// a Conflict.
	for i, p := range spec.AutoStartProviders {
		if err := checkProviderReuse(cfg, i, p); err != nil {
			return err
		}
	}
	for _, p := range cfg.AutoStartProviders {
		providers[p.Name] = true
	}

	var target *siteConfig
	if spec.TargetWebsite != "" {
		target = cfg.site(spec.TargetWebsite)
		if target == nil {
			return notFoundf("targetWebsite: website %q does not exist", spec.TargetWebsite)
		}
		if len(spec.Bindings) > 0 {
			return invalidf("bindings: a task that adds applications to targetWebsite %q cannot set bindings", spec.TargetWebsite)
		}
	} else {
		if err := checkName("siteName", spec.SiteName, 0); err != nil {
			return err
		}
		if cfg.site(spec.SiteName) != nil {
			return conflictf("website %q already exists", spec.SiteName)
		}
	}

	aliases := map[string]bool{}
	for i := range spec.Applications {
		app := &spec.Applications[i]
		field := fmt.Sprintf("applications[%d]", i)
		if err := checkApplication(field, app, poolKnown, providers); err != nil {
			return err
		}
		key := strings.ToLower(app.Alias)
		if aliases[key] {
			return invalidf("%s: alias %q is given twice", field, app.Alias)
		}
		aliases[key] = true
		if target != nil {
			if app.Alias == "" {
				return invalidf("%s: a task cannot replace the root application of targetWebsite %q; give an alias", field, spec.TargetWebsite)
			}
			if target.app(appPath(app.Alias)) != nil {
				return conflictf("%s: website %q already has an application %q", field, target.Name, appPath(app.Alias))
			}
		}
	}
	if target == nil && !aliases[""] && spec.DefaultAppPool == "" && len(spec.AppPools) == 0 {
		return invalidf("appPools: a site without a root application needs defaultAppPool or a pool")
	}
	return checkBindings(certs, spec.Bindings)
}

// checkName validates a site or pool name.
func checkName(field, name string, maxLen int) error {
	if err := iisrules.CheckName(name, maxLen); err != nil {
		return invalidf("%s: %v", field, err)
	}
	return nil
}

// checkPools validates the pools to create; it returns their lower-cased names.
func checkPools(cfg *appHostConfig, specs []ps.AppPoolSpec) (map[string]bool, error) {
	names := map[string]bool{}
	for i := range specs {
		p := &specs[i]
		field := fmt.Sprintf("appPools[%d]", i)
		if err := checkName(field+".name", p.Name, iisrules.MaxPoolNameLength); err != nil {
			return nil, err
		}
		key := strings.ToLower(p.Name)
		if names[key] {
			return nil, invalidf("%s.name: application pool %q is given twice", field, p.Name)
		}
		names[key] = true
		if cfg.pool(p.Name) != nil {
			return nil, conflictf("application pool %q already exists", p.Name)
		}
		if err := checkPool(field, p); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// checkPool validates one pool's settings, naming the field at fault.
func checkPool(field string, p *ps.AppPoolSpec) error {
	oneOf := func(name, v string, allowed ...string) error {
		if v != "" && !slices.Contains(allowed, v) {
			return invalidf("%s.%s: %q is not one of %s", field, name, v, strings.Join(allowed, ", "))
		}
		return nil
	}
	if err := oneOf("identity", p.Identity, iisrules.PoolIdentities...); err != nil {
		return err
	}
	if p.Identity == iisrules.IdentitySpecificUser && strings.TrimSpace(p.Username) == "" {
		return invalidf("%s.username: a SpecificUser identity needs a user name", field)
	}
	if p.Identity != iisrules.IdentitySpecificUser && (p.Username != "" || p.Password != "") {
		return invalidf("%s.username: a user name and password are only used by the SpecificUser identity", field)
	}
	if err := oneOf("managedPipelineMode", p.ManagedPipelineMode, iisrules.PipelineModes...); err != nil {
		return err
	}
	if v := p.ManagedRuntimeVersion; v != nil && !slices.Contains(iisrules.RuntimeVersions, *v) {
		return invalidf("%s.managedRuntimeVersion: %q is not v4.0, v2.0 or empty (no managed code)", field, *v)
	}
	if err := oneOf("startMode", p.StartMode, iisrules.StartModes...); err != nil {
		return err
	}
	if err := oneOf("loadBalancerCapabilities", p.LoadBalancerCapabilities, iisrules.LoadBalancerCapabilities...); err != nil {
		return err
	}
	for _, d := range []struct {
		name string
		v    *int64
		rule iisrules.TimeSpanRange
	}{
		{"idleTimeoutMs", p.IdleTimeoutMs, iisrules.IdleTimeout},
		{"periodicRestartMs", p.PeriodicRestartMs, iisrules.PeriodicRestart},
		{"startupTimeLimitMs", p.StartupTimeLimitMs, iisrules.StartupTimeLimit},
		{"shutdownTimeLimitMs", p.ShutdownTimeLimitMs, iisrules.ShutdownTimeLimit},
	} {
		if d.v == nil {
			continue
		}
		if *d.v < 0 {
			return invalidf("%s.%s: %d is negative", field, d.name, *d.v)
		}
		if err := d.rule.Check(time.Duration(*d.v) * time.Millisecond); err != nil {
			return invalidf("%s.%s: %d ms: %v", field, d.name, *d.v, err)
		}
	}
	if v := p.QueueLength; v != nil {
		if err := iisrules.QueueLength.Check(*v); err != nil {
			return invalidf("%s.queueLength: %v", field, err)
		}
	}
	if err := checkAttributes(field+".attributes", poolSchema, p.Attributes); err != nil {
		return err
	}
	seen := map[string]bool{}
	for j, e := range p.EnvironmentVariables {
		if e.Name == "" || strings.ContainsAny(e.Name, "=\x00") {
			return invalidf("%s.environmentVariables[%d]: %q is not a variable name", field, j, e.Name)
		}
		key := strings.ToUpper(e.Name)
		if seen[key] {
			return invalidf("%s.environmentVariables[%d]: variable %q is given twice", field, j, e.Name)
		}
		seen[key] = true
		if strings.ContainsRune(e.Value, 0) {
			return invalidf("%s.environmentVariables[%d]: the value of %q contains a NUL character", field, j, e.Name)
		}
	}
	return nil
}

// checkApplication validates one application and its virtual directories.
func checkApplication(field string, app *ps.ApplicationSpec, poolKnown func(string) bool, providers map[string]bool) error {
	alias, err := checkAlias(field+".alias", app.Alias)
	if err != nil {
		return err
	}
	app.Alias = alias
	if err := checkPhysicalPath(field+".physicalPath", app.PhysicalPath); err != nil {
		return err
	}
	if app.AppPool == "" {
		return invalidf("%s.appPool: an application pool is required", field)
	}
	if !poolKnown(app.AppPool) {
		return invalidf("%s.appPool: application pool %q does not exist", field, app.AppPool)
	}
	if app.ServiceAutoStartProvider != "" && !providers[app.ServiceAutoStartProvider] {
		return invalidf("%s.serviceAutoStartProvider: provider %q is not registered (provider names are case-sensitive)", field, app.ServiceAutoStartProvider)
	}
	if err := checkAttributes(field+".attributes", appSchema, app.Attributes); err != nil {
		return err
	}
	vdirs := map[string]bool{}
	for j := range app.VirtualDirectories {
		vd := &app.VirtualDirectories[j]
		vfield := fmt.Sprintf("%s.virtualDirectories[%d]", field, j)
		alias, err := checkAlias(vfield+".alias", vd.Alias)
		if err != nil {
			return err
		}
		if alias == "" {
			return invalidf("%s.alias: a virtual directory needs an alias", vfield)
		}
		vd.Alias = alias
		if vdirs[strings.ToLower(alias)] {
			return invalidf("%s.alias: %q is given twice", vfield, alias)
		}
		vdirs[strings.ToLower(alias)] = true
		if err := checkPhysicalPath(vfield+".physicalPath", vd.PhysicalPath); err != nil {
			return err
		}
		if err := checkAttributes(vfield+".attributes", vdirSchema, vd.Attributes); err != nil {
			return err
		}
	}
	return nil
}

// checkAlias trims the slashes around an alias and validates its segments.
func checkAlias(field, alias string) (string, error) {
	a, err := iisrules.NormalizeAlias(alias)
	if err != nil {
		return "", invalidf("%s: %v", field, err)
	}
	return a, nil
}

// checkPhysicalPath requires an absolute path. Like IIS, it does not
// require the directory to exist yet.
func checkPhysicalPath(field, p string) error {
	if p == "" {
		return invalidf("%s: a physical path is required", field)
	}
	if !filepath.IsAbs(p) {
		return invalidf("%s: %q is not an absolute path", field, p)
	}
	return nil
}

// checkBindings validates the bindings among themselves and their
// certificates; conflicts with other sites and processes are checked by the
// service.
func checkBindings(certs certStore, bindings []ps.BindingSpec) error {
	seen := map[string]bool{}
	for i := range bindings {
		b := &bindings[i]
		field := fmt.Sprintf("bindings[%d]", i)
		b.Protocol = strings.ToLower(strings.TrimSpace(b.Protocol))
		if b.Protocol != "http" && b.Protocol != "https" {
			return invalidf("%s.protocol: %q is not http or https", field, b.Protocol)
		}
		ip := strings.TrimSpace(b.IPAddress)
		if ip == "" {
			ip = "*"
		}
		if ip != "*" && net.ParseIP(strings.Trim(ip, "[]")) == nil {
			return invalidf("%s.ipAddress: %q is not an IP address or *", field, b.IPAddress)
		}
		b.IPAddress = ip
		if err := iisrules.Port.Check(int64(b.Port)); err != nil {
			return invalidf("%s.port: %v", field, err)
		}
		b.Hostname = strings.ToLower(strings.TrimSpace(b.Hostname))
		if err := checkHostname(field+".hostname", b.Hostname); err != nil {
			return err
		}
		key := fmt.Sprintf("%s:%d:%s", b.IPAddress, b.Port, b.Hostname)
		if seen[key] {
			return invalidf("%s: binding %s is given twice", field, key)
		}
		seen[key] = true
		if b.Protocol == "http" {
			if b.CertificateThumbprint != "" || b.RequireSNI {
				return invalidf("%s: certificateThumbprint and requireSni apply to https bindings only", field)
			}
			continue
		}
		if b.RequireSNI && b.Hostname == "" {
			return invalidf("%s.requireSni: an https binding that requires SNI needs a hostname", field)
		}
		if b.CertificateThumbprint == "" {
			return invalidf("%s.certificateThumbprint: an https binding needs a certificate", field)
		}
		tp := normalizeThumbprint(b.CertificateThumbprint)
		if len(tp) != 40 {
			return invalidf("%s.certificateThumbprint: %q is not a SHA-1 thumbprint", field, b.CertificateThumbprint)
		}
		b.CertificateThumbprint = tp
		if !certs.has(tp) {
			return notFoundf("%s.certificateThumbprint: certificate %s is not in the certificate store", field, tp)
		}
	}
	// IIS's binding rules among the request's own bindings (one site).
	for i := range bindings {
		for j := range i {
			if err := iisrules.Conflict(ruleBinding(bindings[j]), ruleBinding(bindings[i]), true); err != nil {
				return invalidf("bindings[%d]: conflicts with bindings[%d]: %v", i, j, err)
			}
		}
	}
	return nil
}

// ruleBinding is a binding as ps/iisrules' binding rules see it.
func ruleBinding(b ps.BindingSpec) iisrules.Binding {
	return iisrules.Binding{Protocol: b.Protocol, IPAddress: b.IPAddress, Port: b.Port, Hostname: b.Hostname, SNI: b.RequireSNI, Certificate: b.CertificateThumbprint}
}

// checkHostname validates a host header (ps/iisrules).
func checkHostname(field, h string) error {
	if err := iisrules.CheckHostname(h); err != nil {
		return invalidf("%s: %v", field, err)
	}
	return nil
}

// checkProviderReuse refuses, with Conflict, a requested auto-start
// provider whose name is registered already with another type. Names are
// compared as IIS does (case-sensitively), types ordinally.
func checkProviderReuse(cfg *appHostConfig, i int, p ps.AutoStartProviderSpec) error {
	for _, x := range cfg.AutoStartProviders {
		if iisrules.ProviderNameEqual(x.Name, p.Name) && x.Type != p.Type {
			return conflictf("autoStartProviders[%d]: provider %q is registered already with type %q, not %q; a task never rewrites a provider it did not create (use that type, or another name)", i, p.Name, x.Type, p.Type)
		}
	}
	return nil
}
