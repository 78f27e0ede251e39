//go:build windows

package driver

import (
	cstructs "github.com/hashicorp/nomad/client/structs"
	"github.com/shirou/gopsutil/v4/process"
)

func init() {
	measuredMemory = []string{"RSS", "Usage"}
}

// setMemory records a worker's working set as RSS and its private bytes
// (the pagefile-backed commit charge) as Usage.
func setMemory(ms *cstructs.MemoryStats, mem *process.MemoryInfoStat) {
	ms.RSS = mem.RSS
	ms.Usage = mem.VMS
}
