package bench

import "errors"

// mkfifo is not available on Windows: the benchmarks run on Linux, against
// iissim.
func mkfifo(string) error {
	return errors.New("the task start benchmark runs on Linux and macOS only")
}

// syscallSync does nothing on Windows.
func syscallSync() {}
