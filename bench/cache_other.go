//go:build !linux

package bench

import "errors"

// dropFromCache needs posix_fadvise, which the benchmarks use on Linux
// only.
func dropFromCache(string) error {
	return errors.New("dropping a file from the page cache needs Linux")
}
