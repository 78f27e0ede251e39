package bench

import (
	"os"

	"golang.org/x/sys/unix"
)

// dropFromCache drops the clean pages of the file at path from the page
// cache (posix_fadvise POSIX_FADV_DONTNEED), so that the next read comes
// from the disk.
func dropFromCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
