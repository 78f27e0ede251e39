package api

import (
	"net/http"
	"sort"

	"github.com/nomad-iis/nomad-iis/ps"
)

// debugResponse is the body of GET /api/v1/debug, with the fields of
// nomad-iis 0.20 plus the admin extension scripts the backend loaded.
type debugResponse struct {
	IISHandleCount      int             `json:"iisHandleCount"`
	IISHandles          []debugHandle   `json:"iisHandles"`
	DanglingIISAppPools int             `json:"danglingIisAppPools"`
	DanglingIISWebsites int             `json:"danglingIisWebsites"`
	IISAppPools         []debugResource `json:"iisAppPools"`
	IISWebsites         []debugResource `json:"iisWebsites"`
	Extensions          *debugExtension `json:"extensions,omitempty"`
}

type debugHandle struct {
	TaskID        string   `json:"taskId"`
	AppPoolNames  []string `json:"appPoolNames"`
	AllocID       string   `json:"allocId"`
	Namespace     string   `json:"namespace"`
	JobID         string   `json:"jobId"`
	JobName       string   `json:"jobName"`
	TaskName      string   `json:"taskName"`
	TaskGroupName string   `json:"taskGroupName"`
	IsRecovered   bool     `json:"isRecovered"`
	SiteName      string   `json:"siteName,omitempty"`
}

type debugResource struct {
	Name       string `json:"name"`
	State      string `json:"state,omitempty"`
	IsDangling bool   `json:"isDangling"`
}

type debugExtension struct {
	Directory string         `json:"directory"`
	Scripts   []ps.Extension `json:"scripts"`
}

// handleDebug serves GET /api/v1/debug: the driver's task handles and the
// driver-made ("nomad-" prefixed) sites and pools, flagging those no handle
// owns ("dangling"). A token scoped to namespaces, jobs or allocations sees
// only its own handles and no IIS-wide lists.
func (s *Server) handleDebug(w http.ResponseWriter, r *http.Request, c *call) error {
	tasks := s.reg.List()
	res := debugResponse{IISHandles: []debugHandle{}, IISAppPools: []debugResource{}, IISWebsites: []debugResource{}}
	ownedPools, ownedSites := map[string]bool{}, map[string]bool{}
	for _, t := range tasks {
		var names []string
		for _, n := range t.AppPools {
			names = append(names, n)
			ownedPools[n] = true
		}
		sort.Strings(names)
		if t.OwnsSite && t.SiteName != "" {
			ownedSites[t.SiteName] = true
		}
		if !c.principal.MayTask(t) {
			continue
		}
		res.IISHandles = append(res.IISHandles, debugHandle{
			TaskID: t.TaskID, AppPoolNames: names, AllocID: t.AllocID, Namespace: t.Namespace,
			JobID: t.JobID, JobName: t.JobName, TaskName: t.TaskName, TaskGroupName: t.TaskGroup,
			IsRecovered: t.Recovered, SiteName: t.SiteName,
		})
	}
	sort.Slice(res.IISHandles, func(i, j int) bool { return res.IISHandles[i].TaskID < res.IISHandles[j].TaskID })
	res.IISHandleCount = len(res.IISHandles)
	if !c.principal.Unscoped() {
		return writeJSON(w, res)
	}
	managed, err := s.iis.GetManagedResources(r.Context())
	if err != nil {
		return err
	}
	for _, p := range managed.AppPools {
		d := debugResource{Name: p.Name, State: p.State, IsDangling: !ownedPools[p.Name]}
		if d.IsDangling {
			res.DanglingIISAppPools++
		}
		res.IISAppPools = append(res.IISAppPools, d)
	}
	for _, site := range managed.Websites {
		d := debugResource{Name: site.Name, State: site.State, IsDangling: !ownedSites[site.Name]}
		if d.IsDangling {
			res.DanglingIISWebsites++
		}
		res.IISWebsites = append(res.IISWebsites, d)
	}
	ext, err := s.iis.GetExtensions(r.Context())
	if err != nil {
		s.log.Warn("list admin extensions", "error", err)
	} else {
		res.Extensions = &debugExtension{Directory: ext.Directory, Scripts: ext.Extensions}
		if res.Extensions.Scripts == nil {
			res.Extensions.Scripts = []ps.Extension{}
		}
	}
	return writeJSON(w, res)
}
