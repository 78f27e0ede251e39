//go:build !unix

package fsroot

// openFlags are added to every open of a target for reading. Windows has no
// named pipes in a folder and no O_NONBLOCK; the type check is enough.
const openFlags = 0
