package driver

import (
	"context"
	"strconv"
	"sync"
	"time"

	cstructs "github.com/hashicorp/nomad/client/structs"
	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/process"
)

// Resource statistics are summed over every worker process of every pool
// of the task, whatever their number: web gardens (several workers per
// pool) and overlapped recycles (old and new worker side by side) count in
// full. The PIDs come from the monitor's last look at the pools.

var (
	measuredCPU    = []string{"System Mode", "User Mode", "Percent", "Total Ticks"}
	measuredMemory = []string{"RSS"}
)

// handleStats sends h's resource usage on ch every interval until ctx ends
// or the task is destroyed (or the driver shuts down).
func (d *Driver) handleStats(ctx context.Context, h *taskHandle, interval time.Duration, ch chan<- *cstructs.TaskResourceUsage) {
	defer close(ch)
	sampler := newStatsSampler(hostCompute())
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.ctx.Done():
			return
		case <-timer.C:
		}
		pools, _, _ := h.lastSeen()
		var pids []int
		for _, w := range liveWorkers(pools) {
			pids = append(pids, w.ProcessID)
		}
		usage := sampler.sample(pids, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-h.ctx.Done():
			return
		case ch <- usage:
		}
		timer.Reset(interval)
	}
}

// cpuSample is one process's cumulative CPU time, in seconds.
type cpuSample struct {
	user, system float64
}

// statsSampler turns cumulative per-process CPU times into rates. It keeps
// the previous sample of each PID: a PID seen for the first time counts
// from its start when it started since the previous sample (a worker that
// came up in between), else from now on.
type statsSampler struct {
	totalCompute float64 // MHz of the whole node
	numCores     int

	prevTime time.Time
	prev     map[int]cpuSample
}

// nodeCompute is a node's CPU capacity. A task's cpu resources are in MHz,
// so CPU time is reported as MHz consumed out of totalMHz.
type nodeCompute struct {
	totalMHz float64 // all cores together
	cores    int
}

// newStatsSampler makes a sampler for a node with compute's capacity.
func newStatsSampler(compute nodeCompute) *statsSampler {
	return &statsSampler{totalCompute: compute.totalMHz, numCores: compute.cores, prev: map[int]cpuSample{}}
}

// hostCompute is this node's CPU capacity, read once. The plugin API of the
// Nomad SDK this driver is built on (v1.6) does not send the agent's view of
// it, so it is read from the host as the agent's own fingerprint does: the
// fastest core's clock times the logical core count.
var hostCompute = sync.OnceValue(func() nodeCompute {
	infos, err := cpu.Info()
	cores, cerr := cpu.Counts(true)
	if err != nil || cerr != nil || cores <= 0 {
		return nodeCompute{}
	}
	var mhz float64
	for _, i := range infos {
		mhz = max(mhz, i.Mhz)
	}
	return nodeCompute{totalMHz: mhz * float64(cores), cores: cores}
})

// sample measures the processes pids at now.
func (s *statsSampler) sample(pids []int, now time.Time) *cstructs.TaskResourceUsage {
	wall := now.Sub(s.prevTime).Seconds()
	first := s.prevTime.IsZero()
	cur := make(map[int]cpuSample, len(pids))
	total := &cstructs.ResourceUsage{
		MemoryStats: &cstructs.MemoryStats{Measured: measuredMemory},
		CpuStats:    &cstructs.CpuStats{Measured: measuredCPU},
	}
	perPID := map[string]*cstructs.ResourceUsage{}
	for _, pid := range pids {
		p, err := process.NewProcess(int32(pid))
		if err != nil {
			continue
		}
		times, err := p.Times()
		if err != nil {
			continue
		}
		c := cpuSample{user: times.User, system: times.System}
		cur[pid] = c
		prev, seen := s.prev[pid]
		if !seen {
			prev = c
			if !first {
				if ms, err := p.CreateTime(); err == nil && time.UnixMilli(ms).After(s.prevTime) {
					prev = cpuSample{}
				}
			}
		}
		usage := &cstructs.ResourceUsage{
			MemoryStats: &cstructs.MemoryStats{Measured: measuredMemory},
			CpuStats:    &cstructs.CpuStats{Measured: measuredCPU},
		}
		if mem, err := p.MemoryInfo(); err == nil {
			setMemory(usage.MemoryStats, mem)
		}
		if !first && wall > 0 {
			usage.CpuStats.UserMode = max(0, c.user-prev.user) / wall * 100
			usage.CpuStats.SystemMode = max(0, c.system-prev.system) / wall * 100
			usage.CpuStats.Percent = usage.CpuStats.UserMode + usage.CpuStats.SystemMode
			usage.CpuStats.TotalTicks = s.ticks(usage.CpuStats.Percent)
		}
		perPID[strconv.Itoa(pid)] = usage
		total.MemoryStats.Add(usage.MemoryStats)
		total.CpuStats.Add(usage.CpuStats)
	}
	total.MemoryStats.Measured = measuredMemory
	total.CpuStats.Measured = measuredCPU
	s.prev, s.prevTime = cur, now
	return &cstructs.TaskResourceUsage{ResourceUsage: total, Timestamp: now.UnixNano(), Pids: perPID}
}

// ticks converts a CPU percentage (100 = one core) into MHz consumed, the
// unit of the task's cpu resources, as Nomad's own drivers do.
func (s *statsSampler) ticks(percent float64) float64 {
	if s.numCores <= 0 {
		return 0
	}
	return percent / 100 * s.totalCompute / float64(s.numCores)
}
