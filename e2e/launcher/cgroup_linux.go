//go:build linux

package launcher

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/shirou/gopsutil/v4/process"
)

// cgroupPatterns are the cgroup directories a Nomad client running as root
// creates and never removes: one per v1 controller, or nomad.slice on v2.
var cgroupPatterns = []string{"/sys/fs/cgroup/*/nomad", "/sys/fs/cgroup/nomad.slice"}

// cgroupDirs remembers which of the agent's cgroup directories existed
// before it started, so that only the ones it created are removed.
type cgroupDirs struct {
	before map[string]bool
}

func newCgroupDirs() *cgroupDirs {
	c := &cgroupDirs{before: map[string]bool{}}
	for _, d := range matchCgroupDirs() {
		c.before[d] = true
	}
	return c
}

func matchCgroupDirs() []string {
	var out []string
	for _, p := range cgroupPatterns {
		m, _ := filepath.Glob(p)
		out = append(out, m...)
	}
	return out
}

// remove removes, deepest first, the cgroup directories the agent created.
// It leaves them when another Nomad agent is running (they are shared by
// every agent of the machine) and when a process is still in one of them.
func (c *cgroupDirs) remove() error {
	if c == nil {
		return nil
	}
	var created []string
	for _, d := range matchCgroupDirs() {
		if !c.before[d] {
			created = append(created, d)
		}
	}
	if len(created) == 0 || otherNomadAgentRunning() {
		return nil
	}
	var errs []error
	for _, root := range created {
		var dirs []string
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		slices.Reverse(dirs)
		for _, d := range dirs {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("launcher: remove cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// otherNomadAgentRunning reports whether a `nomad agent` process runs.
func otherNomadAgentRunning() bool {
	procs, err := process.Processes()
	if err != nil {
		return true // cannot tell: leave the directories
	}
	for _, p := range procs {
		args, err := p.CmdlineSlice()
		if err == nil && len(args) > 1 && filepath.Base(args[0]) == "nomad" && args[1] == "agent" {
			return true
		}
	}
	return false
}

// unmountUnder detaches every mount below dir: the tmpfs a Nomad client
// running as root mounts on each task's secrets directory stays mounted
// until the allocation is garbage collected, which can be after the agent
// stopped.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(unescapeMount(fields[4]), prefix) {
			mounts = append(mounts, unescapeMount(fields[4]))
		}
	}
	// Deepest first.
	slices.SortFunc(mounts, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("launcher: unmount %s: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

// unescapeMount undoes mountinfo's octal escapes of space, tab, newline and
// backslash.
func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}
