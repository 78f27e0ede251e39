package api

import (
	"context"
	"path"
	"path/filepath"
	"strings"
)

// deploymentStatus is one application directory's versions in …/status.
type deploymentStatus struct {
	Application      string          `json:"application"`
	VirtualDirectory string          `json:"virtualDirectory"`
	Current          deployVersion   `json:"current"`
	Kept             []deployVersion `json:"kept"`
}

// deploymentsOf lists the versions of every application directory of the
// task that was deployed with …/deploy (cached, see statusCache).
func (s *Server) deploymentsOf(ctx context.Context, t Task) []deploymentStatus {
	list, err := s.deploys.get(ctx, t.TaskID, func(ctx context.Context) ([]deploymentStatus, error) {
		return s.readDeployments(ctx, t), nil
	})
	if err != nil {
		// Only the request's end while another request reads the same
		// task's deployments; there is nothing to show.
		return []deploymentStatus{}
	}
	return list
}

// readDeployments reads the deployments from the website's directories and
// their version records; what cannot be read is left out.
func (s *Server) readDeployments(ctx context.Context, t Task) []deploymentStatus {
	out := []deploymentStatus{}
	site, err := s.iis.GetWebsite(ctx, t.SiteName)
	if err != nil {
		return out
	}
	tree, err := openTree(t)
	if err != nil {
		return out
	}
	defer func() { _ = tree.Close() }()
	for _, a := range site.Applications {
		if !t.OwnsSite && !taskHasApplication(t, a.Path) {
			continue
		}
		for _, v := range a.VirtualDirectories {
			rel, err := filepath.Rel(t.TaskDir, v.PhysicalPath)
			if err != nil || !filepath.IsLocal(rel) || rel == "." {
				continue
			}
			rel = filepath.ToSlash(rel)
			if _, err := tree.Root().Stat(path.Join(storeDirFor(rel), storeFile)); err != nil && !strings.HasSuffix(path.Dir(rel), storeSuffix) {
				continue
			}
			st, err := openStore(tree.Root(), rel)
			if err != nil || st.find(st.Current) == nil || st.Current == initialVersion && len(st.Versions) == 1 {
				continue
			}
			ds := deploymentStatus{Application: a.Path, VirtualDirectory: v.Path, Current: *st.find(st.Current), Kept: []deployVersion{}}
			for _, k := range st.Versions {
				if k.ID != st.Current {
					ds.Kept = append(ds.Kept, k)
				}
			}
			out = append(out, ds)
		}
	}
	return out
}
