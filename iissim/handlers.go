//go:build !windows

package iissim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// handlerFunc serves one operation.
type handlerFunc func(ctx context.Context, args json.RawMessage) (any, error)

// withArgs adapts an operation that takes its arguments decoded: the raw
// JSON is decoded into T first, InvalidArgument when it does not fit.
func withArgs[T any](op func(context.Context, *T) (any, error)) handlerFunc {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		args, err := decodeArgs[T](raw)
		if err != nil {
			return nil, err
		}
		return op(ctx, args)
	}
}

// handlers is the service's operation table: every operation of the
// contract but the extension ones, which the host serves.
func (s *service) handlers() map[ps.Op]handlerFunc {
	ops := map[ps.Op]handlerFunc{
		ps.OpTestConnection:      s.opTestConnection,
		ps.OpGetServerInfo:       s.opGetServerInfo,
		ps.OpNewTaskSite:         withArgs(s.opNewTaskSite),
		ps.OpRemoveTaskSite:      withArgs(s.opRemoveTaskSite),
		ps.OpGetWebsite:          withArgs(s.opGetWebsite),
		ps.OpGetAppPool:          withArgs(s.opGetAppPool),
		ps.OpStartAppPool:        withArgs(s.opStartAppPool),
		ps.OpStopAppPool:         withArgs(s.opStopAppPool),
		ps.OpRestartAppPool:      withArgs(s.opRestartAppPool),
		ps.OpImportCertificate:   withArgs(s.opImportCertificate),
		ps.OpRemoveCertificate:   withArgs(s.opRemoveCertificate),
		ps.OpSetTaskDirectoryAcl: withArgs(s.opSetTaskDirectoryAcl),
		ps.OpGetManagedResource:  s.opGetManagedResource,
	}
	ops[ps.OpSwitchApplicationVersion] = withArgs(s.opSwitchApplicationVersion)
	return ops
}

func (s *service) opTestConnection(context.Context, json.RawMessage) (any, error) {
	return ps.ConnectionInfo{Backend: backendName, ProcessID: os.Getpid()}, nil
}

func (s *service) opGetServerInfo(context.Context, json.RawMessage) (any, error) {
	return ps.ServerInfo{
		Backend:          backendName,
		IISVersion:       "10.0 (iissim)",
		W3SVCState:       "Running",
		AspNetCoreModule: false,
		URLRewrite:       false,
		ServiceStartTime: s.started,
	}, nil
}

// websiteResult is GetWebsite's answer: the contract's Website and the
// directory of the site's request log.
type websiteResult struct {
	ps.Website
	LogDirectory string `json:"logDirectory"`
}

func (s *service) opGetWebsite(_ context.Context, args *ps.NameArgs) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	site := s.cfg.site(args.Name)
	if site == nil {
		return nil, notFoundf("website %q does not exist", args.Name)
	}
	out := websiteResult{
		Website: ps.Website{
			Name:         site.Name,
			ID:           site.ID,
			State:        s.siteStateLocked(site),
			Bindings:     slices.Clone(site.Bindings),
			Applications: []ps.Application{},
		},
		LogDirectory: s.logs.SiteDir(site.ID),
	}
	if out.Bindings == nil {
		out.Bindings = []ps.Binding{}
	}
	for _, a := range site.Applications {
		app := ps.Application{Path: a.Path, AppPool: a.AppPool, VirtualDirectories: []ps.VirtualDirectory{}}
		for _, v := range a.VirtualDirectories {
			app.VirtualDirectories = append(app.VirtualDirectories, ps.VirtualDirectory{Path: v.Path, PhysicalPath: v.PhysicalPath})
		}
		out.Applications = append(out.Applications, app)
	}
	return out, nil
}

func (s *service) opGetAppPool(_ context.Context, args *ps.GetAppPoolArgs) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []ps.AppPool{}
	if len(args.Names) == 0 {
		for _, pc := range s.cfg.AppPools {
			out = append(out, s.pools[strings.ToLower(pc.Name)].info())
		}
		return out, nil
	}
	for _, name := range args.Names {
		if p := s.pools[strings.ToLower(name)]; p != nil {
			out = append(out, p.info())
		}
	}
	return out, nil
}

// poolFor finds a pool's runtime and configuration; NotFound when it does not exist.
func (s *service) poolFor(name string) (*poolRun, *poolConfig, error) {
	pc := s.cfg.pool(name)
	if pc == nil {
		return nil, nil, notFoundf("application pool %q does not exist", name)
	}
	return s.pools[strings.ToLower(pc.Name)], pc, nil
}

// setAutoStartLocked persists a pool's started or stopped state, as IIS
// does when a pool is started or stopped. The caller holds s.mu.
func (s *service) setAutoStartLocked(pc *poolConfig, on bool) error {
	if pc.AutoStart == on {
		return nil
	}
	pc.AutoStart = on
	if err := s.cfg.save(s.lay.config()); err != nil {
		pc.AutoStart = !on
		return err
	}
	return nil
}

func (s *service) opStartAppPool(_ context.Context, args *ps.NameArgs) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, pc, err := s.poolFor(args.Name)
	if err != nil {
		return nil, err
	}
	if err := s.setAutoStartLocked(pc, true); err != nil {
		return nil, fmt.Errorf("start application pool %q: %w", args.Name, err)
	}
	p.start()
	return p.info(), nil
}

func (s *service) opStopAppPool(ctx context.Context, args *ps.StopAppPoolArgs) (any, error) {
	if args.WaitMs < 0 {
		return nil, invalidf("waitMs: %d is negative", args.WaitMs)
	}
	s.mu.Lock()
	p, pc, err := s.poolFor(args.Name)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if err := s.setAutoStartLocked(pc, false); err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("stop application pool %q: %w", args.Name, err)
	}
	done := p.stop()
	s.mu.Unlock()
	if args.WaitMs > 0 {
		t := time.NewTimer(time.Duration(args.WaitMs) * time.Millisecond)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
		case <-ctx.Done():
			return nil, unavailablef("stop application pool %q: %v", args.Name, ctx.Err())
		}
	}
	return p.info(), nil
}

func (s *service) opRestartAppPool(_ context.Context, args *ps.NameArgs) (any, error) {
	s.mu.Lock()
	p, _, err := s.poolFor(args.Name)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := p.recycle(); err != nil {
		return nil, err
	}
	return p.info(), nil
}

func (s *service) opImportCertificate(_ context.Context, args *ps.ImportCertificateArgs) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := importCertificate(s.certs, args)
	if err != nil {
		return nil, err
	}
	s.log.Info("certificate imported", "thumbprint", c.Thumbprint, "already_present", c.AlreadyPresent)
	return c, nil
}

// certificateUsers lists the bindings of cfg that use a certificate, as
// "site/ip:port:host".
func certificateUsers(cfg *appHostConfig, thumbprint string) []string {
	var users []string
	for _, site := range cfg.Sites {
		for _, b := range site.Bindings {
			if b.CertificateThumbprint == thumbprint {
				users = append(users, fmt.Sprintf("%s/%s:%d:%s", site.Name, b.IPAddress, b.Port, b.Hostname))
			}
		}
	}
	return users
}

func (s *service) opRemoveCertificate(_ context.Context, args *ps.RemoveCertificateArgs) (any, error) {
	tp := normalizeThumbprint(args.Thumbprint)
	if len(tp) != 40 {
		return nil, invalidf("thumbprint: %q is not a SHA-1 thumbprint", args.Thumbprint)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.certs.get(tp)
	if err != nil {
		return nil, err
	}
	if users := certificateUsers(s.cfg, tp); len(users) > 0 {
		return ps.RemovedCertificate{Removed: false, InUseBy: users}, nil
	}
	if !c.managed() {
		return ps.RemovedCertificate{Removed: false}, nil
	}
	if err := s.certs.remove(tp); err != nil {
		return nil, err
	}
	s.forgetCertificate(tp)
	s.log.Info("certificate removed", "thumbprint", tp)
	return ps.RemovedCertificate{Removed: true}, nil
}

func (s *service) opSetTaskDirectoryAcl(_ context.Context, args *ps.TaskDirectoryAclArgs) (any, error) {
	if err := checkAclArgs(args); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := s.cfg.clone()
	if err != nil {
		return nil, err
	}
	next.DirectoryAcls = slices.DeleteFunc(next.DirectoryAcls, func(r aclRecord) bool {
		return r.AllocDir == args.AllocDir && r.TaskName == args.TaskName
	})
	next.DirectoryAcls = append(next.DirectoryAcls, aclRecord{TaskDirectoryAclArgs: *args, SetAt: time.Now().UTC()})
	if err := next.save(s.lay.config()); err != nil {
		return nil, err
	}
	s.cfg = next
	s.reattachPoolsLocked()
	return struct{}{}, nil
}

// checkAclArgs validates SetTaskDirectoryAcl's arguments. The directories
// must exist; Unix has no Windows ACLs, so iissim records the request.
func checkAclArgs(args *ps.TaskDirectoryAclArgs) error {
	if !filepath.IsAbs(args.AllocDir) {
		return invalidf("allocDir: %q is not an absolute path", args.AllocDir)
	}
	if args.TaskName == "" || args.TaskName == "." || args.TaskName == ".." || strings.ContainsAny(args.TaskName, `/\`) {
		return invalidf("taskName: %q is not a task directory name", args.TaskName)
	}
	if len(args.Identities) == 0 {
		return invalidf("identities: at least one identity is required")
	}
	for i, id := range args.Identities {
		if strings.TrimSpace(id) == "" {
			return invalidf("identities[%d]: an identity is required", i)
		}
	}
	for _, dir := range []string{args.AllocDir, filepath.Join(args.AllocDir, args.TaskName)} {
		st, err := os.Stat(dir)
		if err != nil {
			return notFoundf("directory %s does not exist", dir)
		}
		if !st.IsDir() {
			return invalidf("%s is not a directory", dir)
		}
	}
	return nil
}

// managedPrefixName is the prefix of the sites and pools the driver makes.
const managedPrefixName = "nomad-"

func (s *service) opGetManagedResource(context.Context, json.RawMessage) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := ps.ManagedResources{Websites: []ps.ManagedResource{}, AppPools: []ps.ManagedResource{}}
	for _, site := range s.cfg.Sites {
		if hasFoldPrefix(site.Name, managedPrefixName) {
			out.Websites = append(out.Websites, ps.ManagedResource{Name: site.Name, State: s.siteStateLocked(site)})
		}
	}
	for _, pc := range s.cfg.AppPools {
		if hasFoldPrefix(pc.Name, managedPrefixName) {
			out.AppPools = append(out.AppPools, ps.ManagedResource{Name: pc.Name, State: s.pools[strings.ToLower(pc.Name)].info().State})
		}
	}
	return out, nil
}

func hasFoldPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// reattachPoolsLocked points every pool runtime at the pool's element of
// the current configuration. The caller holds s.mu.
func (s *service) reattachPoolsLocked() {
	for _, pc := range s.cfg.AppPools {
		if p := s.pools[strings.ToLower(pc.Name)]; p != nil {
			p.setConfig(pc)
		}
	}
}
