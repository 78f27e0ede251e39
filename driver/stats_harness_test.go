//go:build !windows

package driver

import (
	"context"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/shoenig/test/must"
)

func TestIISDriver_TaskStats_WebGarden(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	tt := newTask(t, h, "web", `config {
  application_pool {
    start_mode = "AlwaysRunning"
    extension {
      name  = "processModel.maxProcesses"
      value = "2"
    }
  }
  application { path = "local" }
  binding {
    type       = "http"
    port       = "http"
    ip_address = "127.0.0.1"
  }
}`, map[string]string{"local/index.html": "garden"})
	startTask(t, h, tt)
	pool := "nomad-" + tt.cfg.AllocID + "-web"
	testkit.EventuallyWithin(t, waitTimeout, "two workers", func() bool { return len(poolState(t, d.IIS(), pool).WorkerProcesses) == 2 })
	want := workerPIDs(poolState(t, d.IIS(), pool))
	sort.Ints(want)

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ch, err := h.TaskStats(ctx, tt.cfg.ID, 100*time.Millisecond)
	must.NoError(t, err)
	for {
		var u = <-ch
		must.NotNil(t, u, must.Sprint("the stats stream ended"))
		var got []int
		var rss uint64
		for pid, pu := range u.Pids {
			n, err := strconv.Atoi(pid)
			must.NoError(t, err)
			got = append(got, n)
			rss += pu.MemoryStats.RSS
		}
		sort.Ints(got)
		if len(got) < 2 {
			continue // the monitor has not seen both workers yet
		}
		must.Eq(t, want, got)
		must.Positive(t, u.ResourceUsage.MemoryStats.RSS)
		must.Eq(t, rss, u.ResourceUsage.MemoryStats.RSS)
		must.SliceContains(t, u.ResourceUsage.CpuStats.Measured, "Percent")
		break
	}
	cancel()
	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
}
