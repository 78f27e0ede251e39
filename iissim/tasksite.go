//go:build !windows

package iissim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nomad-iis/nomad-iis/iissim/web"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/nomad-iis/nomad-iis/ps/iisrules"
)

// opNewTaskSite creates a task's pools, site or applications, bindings and
// auto-start providers in one commit. Everything is validated first; the
// ports are claimed (bound) before the configuration is written, and the
// configuration is replaced whole, so that a failure leaves nothing behind.
func (s *service) opNewTaskSite(_ context.Context, spec *ps.TaskSiteSpec) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := checkTaskSite(s.cfg, s.certs, spec); err != nil {
		return nil, err
	}
	opened, err := s.claimPortsLocked(spec.Bindings)
	if err != nil {
		return nil, err
	}
	release := func() {
		for _, ln := range opened {
			_ = ln.Close()
		}
	}
	next, err := s.cfg.clone()
	if err != nil {
		release()
		return nil, err
	}
	result, err := applyTaskSite(next, spec, s.lay.wwwroot())
	if err == nil {
		err = next.save(s.lay.config())
	}
	if err != nil {
		release()
		return nil, fmt.Errorf("create task site: %w", err)
	}
	if s.takeCommitFault() {
		release()
		return nil, s.undoFailedCommit(spec, result, errors.New("registering the bindings failed after applicationHost was written (injected fault)"))
	}
	s.cfg = next
	s.reattachPoolsLocked()
	for _, name := range result.AppPools {
		pc := next.pool(name)
		p := newPoolRun(pc, s.sp)
		s.pools[strings.ToLower(name)] = p
		if pc.AutoStart {
			p.start()
		}
	}
	s.applyRoutesLocked(opened)
	s.log.Info("task site created", "site", result.SiteName, "site_id", result.SiteID, "app_pools", strings.Join(result.AppPools, ","))
	return result, nil
}

// claimPortsLocked checks the bindings against the other sites' bindings
// and binds the addresses nobody listens on yet, which finds ports other
// processes hold. The caller owns the returned listeners. The caller holds s.mu.
func (s *service) claimPortsLocked(bindings []ps.BindingSpec) (map[string]net.Listener, error) {
	opened := map[string]net.Listener{}
	fail := func(err error) (map[string]net.Listener, error) {
		for _, ln := range opened {
			_ = ln.Close()
		}
		return nil, err
	}
	protocols := map[string]string{}
	for _, b := range bindings {
		addr := web.ListenAddr(ps.Binding{IPAddress: b.IPAddress, Port: b.Port}, s.bindAll)
		if p, ok := protocols[addr]; ok && p != b.Protocol {
			return fail(invalidf("bindings: port %d is given for both http and https", b.Port))
		}
		protocols[addr] = b.Protocol
		// IIS's binding rules against every other site (ps/iisrules):
		// "*" and 0.0.0.0 overlap every address, one non-SNI https
		// certificate per IP:port, SNI keyed by host name and port.
		for _, site := range s.cfg.Sites {
			for _, eb := range site.Bindings {
				if err := iisrules.Conflict(ruleBinding(ps.BindingSpec(eb)), ruleBinding(b), false); err != nil {
					return fail(conflictf("port %d: website %q has a binding this one cannot be next to: %v", b.Port, site.Name, err))
				}
			}
		}
		if s.fronts[addr] != nil || opened[addr] != nil {
			continue
		}
		ln, err := listen(addr)
		if err != nil {
			return fail(err)
		}
		opened[addr] = ln
	}
	return opened, nil
}

// applyTaskSite adds a validated spec to cfg.
func applyTaskSite(cfg *appHostConfig, spec *ps.TaskSiteSpec, wwwroot string) (*ps.TaskSite, error) {
	result := &ps.TaskSite{AppPools: []string{}, Applications: []string{}}
	for _, p := range spec.AppPools {
		pc := &poolConfig{AppPoolSpec: p, HasPassword: p.Password != "", AutoStart: true}
		pc.Password = ""
		// As on IIS, whose schema refuses an empty value, and where an
		// empty value means unset: a variable without a value is left out.
		pc.EnvironmentVariables = slices.DeleteFunc(slices.Clone(p.EnvironmentVariables), func(e ps.EnvVar) bool { return e.Value == "" })
		pc.Attributes = slices.DeleteFunc(slices.Clone(p.Attributes), func(a ps.Attribute) bool {
			if a.Name == "processModel.password" {
				pc.HasPassword = true
				return true
			}
			return false
		})
		if v, ok := attr(p.Attributes, "autoStart"); ok {
			pc.AutoStart = strings.EqualFold(v, "true")
		}
		cfg.AppPools = append(cfg.AppPools, pc)
		result.AppPools = append(result.AppPools, p.Name)
	}
	for _, prov := range spec.AutoStartProviders {
		// Provider names are case-sensitive keys: "Warmup" is not "warmup".
		// A provider registered before is left as it is (checkTaskSite
		// refused another type) and not reported: the task did not create
		// it, so RemoveTaskSite must never be asked to remove it.
		if slices.ContainsFunc(cfg.AutoStartProviders, func(x ps.AutoStartProviderSpec) bool { return iisrules.ProviderNameEqual(x.Name, prov.Name) }) {
			continue
		}
		cfg.AutoStartProviders = append(cfg.AutoStartProviders, prov)
		result.AutoStartProviders = append(result.AutoStartProviders, prov.Name)
	}

	var site *siteConfig
	if spec.TargetWebsite != "" {
		site = cfg.site(spec.TargetWebsite)
	} else {
		site = &siteConfig{Name: spec.SiteName, ID: cfg.nextSiteID(), DefaultAppPool: spec.DefaultAppPool, ServerAutoStart: true, Bindings: []ps.Binding{}}
		for _, b := range spec.Bindings {
			site.Bindings = append(site.Bindings, ps.Binding(b))
		}
		cfg.Sites = append(cfg.Sites, site)
	}
	apps := slices.Clone(spec.Applications)
	slices.SortStableFunc(apps, func(a, b ps.ApplicationSpec) int { return len(a.Alias) - len(b.Alias) })
	for _, a := range apps {
		ac := &appConfig{
			Path:                     appPath(a.Alias),
			AppPool:                  a.AppPool,
			PreloadEnabled:           a.PreloadEnabled,
			ServiceAutoStartEnabled:  a.ServiceAutoStartEnabled,
			ServiceAutoStartProvider: a.ServiceAutoStartProvider,
			Attributes:               a.Attributes,
			VirtualDirectories:       []*vdirConfig{{Path: "/", PhysicalPath: a.PhysicalPath}},
		}
		for _, v := range a.VirtualDirectories {
			ac.VirtualDirectories = append(ac.VirtualDirectories, &vdirConfig{Path: appPath(v.Alias), PhysicalPath: v.PhysicalPath, Attributes: v.Attributes})
		}
		site.Applications = append(site.Applications, ac)
		result.Applications = append(result.Applications, a.Alias)
	}
	if spec.TargetWebsite == "" {
		if site.DefaultAppPool == "" {
			if root := site.app("/"); root != nil {
				site.DefaultAppPool = root.AppPool
			} else {
				site.DefaultAppPool = spec.AppPools[0].Name
			}
		}
		if site.app("/") == nil {
			// Like a site made without a root application on IIS: the root
			// serves inetpub\wwwroot on the default pool.
			if err := ensureWWWRoot(wwwroot); err != nil {
				return nil, err
			}
			site.Applications = append([]*appConfig{{
				Path:               "/",
				AppPool:            site.DefaultAppPool,
				VirtualDirectories: []*vdirConfig{{Path: "/", PhysicalPath: wwwroot}},
			}}, site.Applications...)
		}
	}
	result.SiteName = site.Name
	result.SiteID = site.ID
	return result, nil
}

// ensureWWWRoot creates iissim's inetpub\wwwroot with IIS's welcome page.
func ensureWWWRoot(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	page := filepath.Join(dir, "iisstart.htm")
	if _, err := os.Stat(page); err == nil {
		return nil
	}
	const welcome = "<!DOCTYPE html>\n<html><head><title>IIS Windows Server</title></head><body><h1>iissim</h1><p>The default page of a site without a root application.</p></body></html>\n"
	return writeFileAtomic(page, []byte(welcome), 0o644)
}

// opRemoveTaskSite removes what NewTaskSite made, skipping what does not
// exist any more, then the managed certificates no binding uses.
func (s *service) opRemoveTaskSite(_ context.Context, args *ps.RemoveTaskSiteArgs) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := s.cfg.clone()
	if err != nil {
		return nil, err
	}
	removedSite, _, removedPools := removeFromConfig(next, args)
	if err := next.save(s.lay.config()); err != nil {
		return nil, fmt.Errorf("remove task site: %w", err)
	}
	s.cfg = next
	s.reattachPoolsLocked()
	for _, name := range removedPools {
		key := strings.ToLower(name)
		if p := s.pools[key]; p != nil {
			p.stop()
			delete(s.pools, key)
		}
	}
	s.applyRoutesLocked(nil)
	if removedSite != nil {
		s.logs.CloseSite(removedSite.ID)
	}
	s.log.Info("task site removed", "site", args.SiteName, "target_website", args.TargetWebsite, "app_pools", strings.Join(removedPools, ","))

	out := ps.RemovedTaskSite{}
	for _, t := range args.Certificates {
		tp := normalizeThumbprint(t)
		c, err := s.certs.get(tp)
		if err != nil {
			continue
		}
		if len(certificateUsers(next, tp)) > 0 || !c.managed() {
			out.KeptCertificates = append(out.KeptCertificates, tp)
			continue
		}
		if err := s.certs.remove(tp); err != nil {
			s.log.Warn("certificate not removed", "thumbprint", tp, "error", err)
			out.KeptCertificates = append(out.KeptCertificates, tp)
			continue
		}
		s.forgetCertificate(tp)
		out.RemovedCertificates = append(out.RemovedCertificates, tp)
	}
	return out, nil
}

// removeFromConfig removes from cfg what args names, skipping what does not
// exist: the site, the applications of a target website (never its root),
// the pools with their ACL records, and the auto-start providers no
// application names any more. It returns what it removed.
func removeFromConfig(next *appHostConfig, args *ps.RemoveTaskSiteArgs) (removedSite *siteConfig, removedApps []*appConfig, removedPools []string) {
	if args.SiteName != "" {
		removedSite = next.site(args.SiteName)
		if removedSite != nil {
			removedApps = append(removedApps, removedSite.Applications...)
		}
		next.removeSite(args.SiteName)
	}
	if args.TargetWebsite != "" {
		if site := next.site(args.TargetWebsite); site != nil {
			for _, alias := range args.ApplicationAliases {
				p := appPath(alias)
				if p == "/" {
					continue
				}
				site.Applications = slices.DeleteFunc(site.Applications, func(a *appConfig) bool {
					if strings.EqualFold(a.Path, p) {
						removedApps = append(removedApps, a)
						return true
					}
					return false
				})
			}
		}
	}
	for _, name := range args.AppPools {
		if pc := next.pool(name); pc != nil {
			removedPools = append(removedPools, pc.Name)
			next.removePool(name)
		}
	}
	next.DirectoryAcls = slices.DeleteFunc(next.DirectoryAcls, func(r aclRecord) bool {
		return r.belongsTo(removedApps, removedPools)
	})
	for _, name := range args.AutoStartProviders {
		if providerInUse(next, name) {
			continue
		}
		next.AutoStartProviders = slices.DeleteFunc(next.AutoStartProviders, func(p ps.AutoStartProviderSpec) bool { return iisrules.ProviderNameEqual(p.Name, name) })
	}
	return removedSite, removedApps, removedPools
}

// providerInUse reports whether an application still names the provider
// (case-sensitively, as IIS resolves it).
func providerInUse(cfg *appHostConfig, name string) bool {
	for _, site := range cfg.Sites {
		for _, a := range site.Applications {
			if iisrules.ProviderNameEqual(a.ServiceAutoStartProvider, name) {
				return true
			}
			if v, ok := attr(a.Attributes, "serviceAutoStartProvider"); ok && iisrules.ProviderNameEqual(v, name) {
				return true
			}
		}
	}
	return false
}
