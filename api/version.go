package api

import (
	"net/http"

	"github.com/nomad-iis/nomad-iis/version"
)

// versionResponse is the body of GET /api/v1/version.
type versionResponse struct {
	// Version is version.Version: the plugin's version, as `nomad_iis
	// --version` prints it and Nomad shows it (driver.iis.version).
	Version string `json:"version"`
}

// handleVersion serves GET /api/v1/version, to any authenticated caller.
// The version is never sent before authentication (no Server header, not
// in error bodies), so that an unauthenticated scan cannot learn it.
func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request, c *call) error {
	return writeJSON(w, versionResponse{Version: version.Version})
}
