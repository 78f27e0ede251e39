package api

import (
	"net/http"
	"strings"

	"github.com/nomad-iis/nomad-iis/ps"
)

// extensionList is the body of GET /api/v1/extensions: the backend's
// extensions directory and the admin extension scripts found in it.
type extensionList struct {
	Directory  string         `json:"directory"`
	Extensions []ps.Extension `json:"extensions"`
}

// extensions asks the backend for its admin extension scripts. The list is
// host-wide (the scripts run for every task), so, like the IIS-wide lists
// of the debug route, it is refused to a token scoped to namespaces, jobs
// or allocations.
func (s *Server) extensions(r *http.Request, c *call) (*ps.Extensions, error) {
	if !c.principal.Unscoped() {
		return nil, apiErr(http.StatusForbidden, "the admin extensions are host-wide; they are listed only to credentials whose namespace, jobName and allocId are all \"*\"")
	}
	ext, err := s.iis.GetExtensions(r.Context())
	if err != nil {
		return nil, err
	}
	if ext.Extensions == nil {
		ext.Extensions = []ps.Extension{}
	}
	for i := range ext.Extensions {
		if ext.Extensions[i].Hooks == nil {
			ext.Extensions[i].Hooks = []string{}
		}
	}
	return ext, nil
}

// handleExtensions serves GET /api/v1/extensions.
func (s *Server) handleExtensions(w http.ResponseWriter, r *http.Request, c *call) error {
	ext, err := s.extensions(r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, extensionList{Directory: ext.Directory, Extensions: ext.Extensions})
}

// handleExtension serves GET /api/v1/extensions/{name}: one script, found
// by its name compared case-insensitively (Windows file names are).
func (s *Server) handleExtension(w http.ResponseWriter, r *http.Request, c *call) error {
	name := c.vars["name"]
	ext, err := s.extensions(r, c)
	if err != nil {
		return err
	}
	for _, x := range ext.Extensions {
		if strings.EqualFold(x.Name, name) {
			return writeJSON(w, x)
		}
	}
	names := make([]string, 0, len(ext.Extensions))
	for _, x := range ext.Extensions {
		names = append(names, x.Name)
	}
	return apiErr(http.StatusNotFound, "the backend loaded no admin extension named %q; loaded: [%s]", name, strings.Join(names, ", "))
}
