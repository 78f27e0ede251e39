package driver

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// burn keeps a CPU busy for d.
func burn(d time.Duration) {
	x := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := range 100000 {
			x += i
		}
	}
	_ = x
}

func TestStatsSampler_CPUFromDeltas(t *testing.T) {
	s := newStatsSampler(nodeCompute{totalMHz: 8000, cores: 4})
	pid := os.Getpid()
	start := time.Now()
	first := s.sample([]int{pid}, start)
	// The first sample has no previous one: no rate yet, but memory.
	must.Eq(t, 0.0, first.ResourceUsage.CpuStats.Percent)
	must.Positive(t, first.ResourceUsage.MemoryStats.RSS)
	must.MapContainsKey(t, first.Pids, strconv.Itoa(pid))

	burn(300 * time.Millisecond)
	second := s.sample([]int{pid}, time.Now())
	cpu := second.ResourceUsage.CpuStats
	must.Positive(t, cpu.Percent)
	must.InDelta(t, cpu.UserMode+cpu.SystemMode, cpu.Percent, 1e-9)
	// 8000 MHz over 4 cores: 20 MHz per percent of one core.
	must.InDelta(t, cpu.Percent*20, cpu.TotalTicks, 1e-9)
	must.Eq(t, measuredCPU, cpu.Measured)
}

func TestStatsSampler_SumsEveryWorker(t *testing.T) {
	s := newStatsSampler(nodeCompute{totalMHz: 1000, cores: 1})
	self, parent := os.Getpid(), os.Getppid()
	u := s.sample([]int{self, parent, 1 << 30}, time.Now()) // the last PID does not exist
	must.MapLen(t, 2, u.Pids)
	var rss uint64
	for _, p := range u.Pids {
		rss += p.MemoryStats.RSS
	}
	must.Eq(t, rss, u.ResourceUsage.MemoryStats.RSS)
}

func TestStatsSampler_NewWorkerCountsFromItsStart(t *testing.T) {
	s := newStatsSampler(nodeCompute{totalMHz: 1000, cores: 1})
	pid := os.Getpid()
	// A PID first seen at the second sample that was already running at the
	// first one (this process) counts from now on: no spike of its whole
	// lifetime's CPU.
	s.sample(nil, time.Now())
	u := s.sample([]int{pid}, time.Now())
	must.Eq(t, 0.0, u.ResourceUsage.CpuStats.Percent)
	// One that started after the previous sample counts from its start.
	s2 := newStatsSampler(nodeCompute{totalMHz: 1000, cores: 1})
	s2.prevTime = time.Unix(0, 0).Add(time.Millisecond)
	u = s2.sample([]int{pid}, time.Now())
	must.Positive(t, u.ResourceUsage.CpuStats.UserMode+u.ResourceUsage.CpuStats.SystemMode)
}
