//go:build !linux

package launcher

// cgroupDirs is a no-op where Nomad creates no cgroup directories.
type cgroupDirs struct{}

func newCgroupDirs() *cgroupDirs { return nil }

func (c *cgroupDirs) remove() error { return nil }

// unmountUnder is a no-op where Nomad mounts nothing in the data directory.
func unmountUnder(string) error { return nil }
