package driver

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/nomad/client/lib/cpustats"
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
	d.configLock.RLock()
	compute := d.compute
	d.configLock.RUnlock()
	sampler := newStatsSampler(compute)
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

// newStatsSampler makes a sampler for a node with compute's capacity; when
// the agent did not send it, the capacity is read from the host.
func newStatsSampler(compute cpustats.Compute) *statsSampler {
	s := &statsSampler{totalCompute: float64(compute.TotalCompute), numCores: compute.NumCores, prev: map[int]cpuSample{}}
	if s.totalCompute <= 0 || s.numCores <= 0 {
		s.totalCompute, s.numCores = hostCompute()
	}
	return s
}

// hostCompute is the node's total CPU capacity in MHz and its core count,
// read once.
var hostCompute = sync.OnceValues(func() (float64, int) {
	infos, err := cpu.Info()
	cores, cerr := cpu.Counts(true)
	if err != nil || cerr != nil || cores <= 0 {
		return 0, 0
	}
	var mhz float64
	for _, i := range infos {
		mhz = max(mhz, i.Mhz)
	}
	return mhz * float64(cores), cores
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
