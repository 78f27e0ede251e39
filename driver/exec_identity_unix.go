//go:build !windows

package driver

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/shirou/gopsutil/v4/process"
)

// On iissim (Linux, macOS) a pool's identity is the user and groups its
// worker processes run as. iissim starts its workers as its own user, which
// is the agent's unless the operator runs iissim otherwise; then that user
// is the identity, reported as such.

// execIdentity is who an exec runs as: a user and its groups.
type execIdentity struct {
	// name describes the identity for messages and the audit line.
	name string
	uid  uint32
	gid  uint32
	// groups are the supplementary groups.
	groups []uint32
	// switchUser is set when the identity is not the plugin's own, so that
	// the command's credentials must be set (which needs root).
	switchUser bool
}

// close releases what the identity holds: nothing on Unix.
func (i *execIdentity) close() {}

// environ is the identity's own environment: the plugin's, with HOME,
// USER and LOGNAME of the identity when it is another user.
func (i *execIdentity) environ() ([]string, error) {
	env := os.Environ()
	if !i.switchUser {
		return env, nil
	}
	u, err := user.LookupId(strconv.FormatUint(uint64(i.uid), 10))
	if err != nil {
		return env, nil // a uid without a passwd entry has no HOME to give
	}
	return mergeEnvStrings(env, "HOME="+u.HomeDir, "USER="+u.Username, "LOGNAME="+u.Username), nil
}

// mergeEnvStrings is env with the KEY=value pairs of over replacing those
// of the same name.
func mergeEnvStrings(env []string, over ...string) []string {
	drop := map[string]bool{}
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	out := make([]string, 0, len(env)+len(over))
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, over...)
}

// identityOfWorker is the user and groups worker pid of pool runs as.
func identityOfWorker(pid int, pool string) (*execIdentity, error) {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return nil, fmt.Errorf("find process: %w", err)
	}
	uids, err := p.Uids()
	if err != nil || len(uids) < 2 {
		return nil, fmt.Errorf("read its user: %v", err)
	}
	gids, err := p.Gids()
	if err != nil || len(gids) < 2 {
		return nil, fmt.Errorf("read its group: %v", err)
	}
	groups, _ := p.Groups()
	uid, gid := uids[1], gids[1] // effective ids
	ident := &execIdentity{
		uid:        uid,
		gid:        gid,
		groups:     groups,
		switchUser: int(uid) != os.Geteuid() || int(gid) != os.Getegid(),
	}
	ident.name = fmt.Sprintf("%s (uid %d, the user of worker %d of application pool %s)", lookupUserName(int(uid)), uid, pid, pool)
	return ident, nil
}

// agentIdentity is the plugin's own account (exec_as_agent).
func agentIdentity() (*execIdentity, error) {
	uid := os.Geteuid()
	return &execIdentity{
		name: fmt.Sprintf("%s (uid %d, the agent's account: exec_as_agent is set)", lookupUserName(uid), uid),
		uid:  uint32(uid),
		gid:  uint32(os.Getegid()),
	}, nil
}

// lookupUserName is the name of uid, or "uid <n>" when it has none.
func lookupUserName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return "uid " + strconv.Itoa(uid)
}
