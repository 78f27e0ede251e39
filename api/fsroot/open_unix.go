//go:build unix

package fsroot

import "syscall"

// openFlags are added to every open of a target for reading: a named pipe
// swapped in after the type check then fails or reads empty instead of
// blocking until a writer appears.
const openFlags = syscall.O_NONBLOCK
