// Package version holds the version of nomad-iis, the one reported
// everywhere: `nomad_iis --version` and `iissim --version`, the plugin info
// and the driver.iis.version fingerprint attribute Nomad shows, and the
// Management API (GET /api/v1/version and the OpenAPI document's
// info.version).
package version

// Version is the version of this build. Between releases it is the next
// release with "-dev"; release builds (hack/dist.sh) set it with
//
//	go build -ldflags "-X github.com/nomad-iis/nomad-iis/version.Version=1.2.3"
//
// It is a var, not a const, so that -X can set it; nothing else writes it.
var Version = "0.21.0-dev"

// String is the one-line answer of --version: "<program> <version>".
func String(program string) string {
	return program + " " + Version
}
