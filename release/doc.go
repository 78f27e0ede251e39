// Package release holds the test of the release build, hack/dist.sh: it
// runs the script as a release would (signed with a throwaway certificate,
// and unsigned) and checks what it makes: the archives and their files, the
// binaries' version, the Authenticode signatures, the SBOMs and SHA256SUMS.
// The test is behind the build tag "dist", as it builds every release
// binary: run it with `make test-dist` (go test -tags dist ./release/).
// It needs what hack/install-deps.sh installs: zip, jq, openssl and
// osslsigncode.
package release
