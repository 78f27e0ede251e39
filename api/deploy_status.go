package api

import (
	"context"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// deployCache keeps each task's deployments for the status cache's TTL,
// so that a status request does not cost a backend round trip (the
// website's directories) and a read of the version records each time. A
// deploy or rollback invalidates the task's entry.
type deployCache struct {
	ttl time.Duration

	// mu guards slots.
	mu    sync.Mutex
	slots map[string]deployCacheSlot
}

type deployCacheSlot struct {
	list    []deploymentStatus
	expires time.Time
}

func newDeployCache(ttl time.Duration) *deployCache {
	return &deployCache{ttl: ttl, slots: map[string]deployCacheSlot{}}
}

// get returns the deployments of taskID, from the cache or from fetch.
func (c *deployCache) get(taskID string, fetch func() []deploymentStatus) []deploymentStatus {
	now := time.Now()
	c.mu.Lock()
	slot, ok := c.slots[taskID]
	c.mu.Unlock()
	if ok && now.Before(slot.expires) {
		return slot.list
	}
	list := fetch()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.slots {
		if now.After(v.expires) {
			delete(c.slots, k)
		}
	}
	c.slots[taskID] = deployCacheSlot{list: list, expires: now.Add(c.ttl)}
	return list
}

// invalidate drops the task's entry.
func (c *deployCache) invalidate(taskID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.slots, taskID)
}

// deploymentStatus is one application directory's versions in …/status.
type deploymentStatus struct {
	Application      string          `json:"application"`
	VirtualDirectory string          `json:"virtualDirectory"`
	Current          deployVersion   `json:"current"`
	Kept             []deployVersion `json:"kept"`
}

// deploymentsOf lists the versions of every application directory of the
// task that was deployed with …/deploy (cached, see deployCache).
func (s *Server) deploymentsOf(ctx context.Context, t Task) []deploymentStatus {
	return s.deploys.get(t.TaskID, func() []deploymentStatus { return s.readDeployments(ctx, t) })
}

// readDeployments reads the deployments from the website's directories and
// their version records; what cannot be read is left out.
func (s *Server) readDeployments(ctx context.Context, t Task) []deploymentStatus {
	out := []deploymentStatus{}
	site, err := s.iis.GetWebsite(ctx, t.SiteName)
	if err != nil {
		return out
	}
	tree, err := openTree(t)
	if err != nil {
		return out
	}
	defer func() { _ = tree.Close() }()
	for _, a := range site.Applications {
		if !t.OwnsSite && !taskHasApplication(t, a.Path) {
			continue
		}
		for _, v := range a.VirtualDirectories {
			rel, err := filepath.Rel(t.TaskDir, v.PhysicalPath)
			if err != nil || !filepath.IsLocal(rel) || rel == "." {
				continue
			}
			rel = filepath.ToSlash(rel)
			if _, err := tree.Root().Stat(path.Join(storeDirFor(rel), storeFile)); err != nil && !strings.HasSuffix(path.Dir(rel), storeSuffix) {
				continue
			}
			st, err := openStore(tree.Root(), rel)
			if err != nil || st.find(st.Current) == nil || st.Current == initialVersion && len(st.Versions) == 1 {
				continue
			}
			ds := deploymentStatus{Application: a.Path, VirtualDirectory: v.Path, Current: *st.find(st.Current), Kept: []deployVersion{}}
			for _, k := range st.Versions {
				if k.ID != st.Current {
					ds.Kept = append(ds.Kept, k)
				}
			}
			out = append(out, ds)
		}
	}
	return out
}
