//go:build !windows

package driver

import (
	cstructs "github.com/hashicorp/nomad/client/structs"
	"github.com/shirou/gopsutil/v4/process"
)

// setMemory records a worker's resident set size.
func setMemory(ms *cstructs.MemoryStats, mem *process.MemoryInfoStat) {
	ms.RSS = mem.RSS
}
