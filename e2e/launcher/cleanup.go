package launcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/nomad-iis/nomad-iis/ps"
)

// killMarked kills every process whose environment carries the launcher's
// marker: what the agent started and left running after it exited (logmon
// processes, which Nomad keeps for reattachment, a plugin that did not exit,
// iissim's service). Two rounds, for children started during the first.
func killMarked(marker string) error {
	if marker == "" {
		return nil
	}
	want := markerEnv + "=" + marker
	self := int32(os.Getpid())
	var failed []string
	for round := range 2 {
		procs, err := process.Processes()
		if err != nil {
			return fmt.Errorf("launcher: list processes: %w", err)
		}
		killed := 0
		for _, p := range procs {
			if p.Pid == self {
				continue
			}
			env, err := p.Environ()
			if err != nil || !slices.Contains(env, want) {
				continue
			}
			if err := p.Kill(); err != nil && round == 1 {
				failed = append(failed, fmt.Sprintf("%d: %v", p.Pid, err))
			}
			killed++
		}
		if killed == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(failed) > 0 {
		return fmt.Errorf("launcher: could not kill %s", strings.Join(failed, ", "))
	}
	return nil
}

// stopIISSim stops the iissim service of the agent's state directory and
// its workers.
func (c *Cluster) stopIISSim(ctx context.Context) error { return c.stopIISSimAt(ctx, c.stateDir) }

// removeLeftoverSites removes the sites and pools of this agent's
// allocations that are still there once the agent is gone, and reports them:
// after StopAllJobs there should be none. Resources of other allocations
// (another Nomad on the same IIS) are left alone.
func (c *Cluster) removeLeftoverSites(ctx context.Context) error {
	c.allocsLock.Lock()
	allocs := slices.Clone(c.allocIDs)
	c.allocsLock.Unlock()
	if len(allocs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	res, err := c.iis.GetManagedResources(ctx)
	if err != nil {
		if errors.Is(err, ps.ErrUnavailable) && c.cfg.Backend == BackendIISSim {
			return nil // the service is gone, and its state with it
		}
		return fmt.Errorf("launcher: list managed sites: %w", err)
	}
	ours := func(name string) bool {
		return slices.ContainsFunc(allocs, func(id string) bool { return strings.Contains(name, id) })
	}
	var left, pools []string
	for _, s := range res.Websites {
		if !ours(s.Name) {
			continue
		}
		left = append(left, "site "+s.Name)
		if _, err := c.iis.RemoveTaskSite(ctx, &ps.RemoveTaskSiteArgs{SiteName: s.Name}); err != nil {
			return fmt.Errorf("launcher: remove leftover site %q: %w", s.Name, err)
		}
	}
	for _, p := range res.AppPools {
		if ours(p.Name) {
			left = append(left, "pool "+p.Name)
			pools = append(pools, p.Name)
		}
	}
	if len(left) == 0 {
		return nil
	}
	if len(pools) > 0 {
		if _, err := c.iis.RemoveTaskSite(ctx, &ps.RemoveTaskSiteArgs{AppPools: pools}); err != nil {
			return fmt.Errorf("launcher: remove leftover pools %s: %w", strings.Join(pools, ", "), err)
		}
	}
	return fmt.Errorf("launcher: the driver left %s behind (removed now)", strings.Join(left, ", "))
}
