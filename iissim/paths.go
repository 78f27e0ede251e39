//go:build !windows

package iissim

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
)

// layout names the files of one state directory, the iissim counterpart of
// %windir%\system32\inetsrv\config and %SystemDrive%\inetpub.
type layout struct {
	dir string
}

// maxSocketPath keeps socket paths below the sockaddr_un limit of every
// Unix (104 bytes on macOS, 108 on Linux).
const maxSocketPath = 100

func (l layout) config() string      { return filepath.Join(l.dir, "applicationHost.json") }
func (l layout) pidFile() string     { return filepath.Join(l.dir, "service.pid") }
func (l layout) serviceLock() string { return filepath.Join(l.dir, "service.lock") }
func (l layout) startLock() string   { return filepath.Join(l.dir, "start.lock") }
func (l layout) serviceLog() string  { return filepath.Join(l.dir, "service.log") }
func (l layout) logsDir() string     { return filepath.Join(l.dir, "logs") }
func (l layout) certsDir() string    { return filepath.Join(l.dir, "certs") }
func (l layout) wwwroot() string     { return filepath.Join(l.dir, "inetpub", "wwwroot") }

// socket is the daemon's unix socket: in the state directory when the path
// is short enough, else in the temporary directory under a name derived
// from the state directory.
func (l layout) socket() string {
	p := filepath.Join(l.dir, "iissim.sock")
	if len(p) <= maxSocketPath {
		return p
	}
	sum := sha256.Sum256([]byte(l.dir))
	return filepath.Join(os.TempDir(), "iissim-"+hex.EncodeToString(sum[:8])+".sock")
}

// absStateDir makes dir absolute and clean, so that every process derives
// the same socket path from it.
func absStateDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.Clean(abs), nil
}
