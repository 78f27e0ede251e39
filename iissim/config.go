//go:build !windows

package iissim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// appHostConfig is iissim's applicationHost.config: every site, pool and
// auto-start provider the service knows, kept on disk as JSON in the state
// directory and loaded when the service starts, so a restarted service
// serves the same sites.
type appHostConfig struct {
	Sites              []*siteConfig              `json:"sites"`
	AppPools           []*poolConfig              `json:"appPools"`
	AutoStartProviders []ps.AutoStartProviderSpec `json:"autoStartProviders,omitempty"`
	// DirectoryAcls records SetTaskDirectoryAcl requests (Unix has no ACLs
	// of the Windows kind; see the package documentation).
	DirectoryAcls []aclRecord `json:"directoryAcls,omitempty"`
}

// siteConfig is one <site> element.
type siteConfig struct {
	Name           string `json:"name"`
	ID             int64  `json:"id"`
	DefaultAppPool string `json:"defaultAppPool,omitempty"`
	// ServerAutoStart is false when the site must not be started with the service.
	ServerAutoStart bool         `json:"serverAutoStart"`
	Bindings        []ps.Binding `json:"bindings"`
	Applications    []*appConfig `json:"applications"`
}

// appConfig is one <application> element.
type appConfig struct {
	// Path is "/" or "/<alias>".
	Path                     string         `json:"path"`
	AppPool                  string         `json:"appPool"`
	PreloadEnabled           *bool          `json:"preloadEnabled,omitempty"`
	ServiceAutoStartEnabled  *bool          `json:"serviceAutoStartEnabled,omitempty"`
	ServiceAutoStartProvider string         `json:"serviceAutoStartProvider,omitempty"`
	Attributes               []ps.Attribute `json:"attributes,omitempty"`
	// VirtualDirectories starts with the root directory "/".
	VirtualDirectories []*vdirConfig `json:"virtualDirectories"`
}

// vdirConfig is one <virtualDirectory> element.
type vdirConfig struct {
	// Path is "/" or "/<alias>", relative to the application.
	Path         string         `json:"path"`
	PhysicalPath string         `json:"physicalPath"`
	Attributes   []ps.Attribute `json:"attributes,omitempty"`
}

// poolConfig is one <add> element of <applicationPools>. The password of a
// SpecificUser identity is not kept: iissim never logs on as anyone.
type poolConfig struct {
	ps.AppPoolSpec
	// HasPassword records that a password was given.
	HasPassword bool `json:"hasPassword,omitempty"`
	// AutoStart is the persisted started/stopped state of the pool.
	AutoStart bool `json:"autoStart"`
}

// aclRecord is one SetTaskDirectoryAcl request.
type aclRecord struct {
	ps.TaskDirectoryAclArgs
	SetAt time.Time `json:"setAt"`
}

// belongsTo reports whether the record is for the task whose applications
// and pools were removed: one of their virtual directories lies in the
// record's task directory, or its identities name one of the pools.
func (r aclRecord) belongsTo(apps []*appConfig, pools []string) bool {
	taskDir := filepath.Join(r.AllocDir, r.TaskName)
	for _, a := range apps {
		for _, v := range a.VirtualDirectories {
			if rel, err := filepath.Rel(taskDir, v.PhysicalPath); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return true
			}
		}
	}
	for _, id := range r.Identities {
		for _, pool := range pools {
			if strings.EqualFold(id, `IIS AppPool\`+pool) {
				return true
			}
		}
	}
	return false
}

// pruneAcls drops the records whose task directory no longer exists, as
// when Nomad garbage-collected the allocation, and returns how many.
func (c *appHostConfig) pruneAcls() int {
	n := len(c.DirectoryAcls)
	c.DirectoryAcls = slices.DeleteFunc(c.DirectoryAcls, func(r aclRecord) bool {
		_, err := os.Stat(filepath.Join(r.AllocDir, r.TaskName))
		return errors.Is(err, os.ErrNotExist)
	})
	return n - len(c.DirectoryAcls)
}

// loadConfig reads the configuration; a missing file is an empty server.
func loadConfig(path string) (*appHostConfig, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &appHostConfig{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	var cfg appHostConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("parse configuration %s: %w", path, err)
	}
	return &cfg, nil
}

// save writes the configuration atomically: a temporary file in the same
// directory, synced, then renamed over the old one.
func (c *appHostConfig) save(path string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode configuration: %w", err)
	}
	return writeFileAtomic(path, append(b, '\n'), 0o600)
}

// writeFileAtomic replaces path with data so that readers see the old or
// the new content, never a part.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	fail := func(err error) error {
		_ = tmp.Close()
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// clone returns a deep copy, used to apply a change all-or-nothing.
func (c *appHostConfig) clone() (*appHostConfig, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("copy configuration: %w", err)
	}
	var out appHostConfig
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("copy configuration: %w", err)
	}
	return &out, nil
}

// site finds a site by name; IIS names are case-insensitive.
func (c *appHostConfig) site(name string) *siteConfig {
	for _, s := range c.Sites {
		if strings.EqualFold(s.Name, name) {
			return s
		}
	}
	return nil
}

// pool finds a pool by name, case-insensitively.
func (c *appHostConfig) pool(name string) *poolConfig {
	for _, p := range c.AppPools {
		if strings.EqualFold(p.Name, name) {
			return p
		}
	}
	return nil
}

// nextSiteID is the lowest unused positive site id, as IIS Manager picks it.
func (c *appHostConfig) nextSiteID() int64 {
	used := make(map[int64]bool, len(c.Sites))
	for _, s := range c.Sites {
		used[s.ID] = true
	}
	id := int64(1)
	for used[id] {
		id++
	}
	return id
}

// removeSite drops a site; it reports whether it existed.
func (c *appHostConfig) removeSite(name string) bool {
	for i, s := range c.Sites {
		if strings.EqualFold(s.Name, name) {
			c.Sites = append(c.Sites[:i], c.Sites[i+1:]...)
			return true
		}
	}
	return false
}

// removePool drops a pool; it reports whether it existed.
func (c *appHostConfig) removePool(name string) bool {
	for i, p := range c.AppPools {
		if strings.EqualFold(p.Name, name) {
			c.AppPools = append(c.AppPools[:i], c.AppPools[i+1:]...)
			return true
		}
	}
	return false
}

// app finds an application of the site by path, case-insensitively.
func (s *siteConfig) app(path string) *appConfig {
	for _, a := range s.Applications {
		if strings.EqualFold(a.Path, path) {
			return a
		}
	}
	return nil
}

// appPath renders an alias as an application or directory path.
func appPath(alias string) string {
	return "/" + strings.Trim(alias, "/")
}
