package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/nomad-iis/nomad-iis/internal/deployload"
)

// deployConns is the load generator's connection count during a deploy.
const deployConns = 64

// deployMode is one way to deploy a new version of the site.
type deployMode struct {
	name   string
	method string
	route  string
}

// The three modes, in the order they run: PUT and PATCH write into the
// site's own folder, so they go before the zero-downtime deploy switches
// the site to a version folder.
var deployModes = []deployMode{
	{"PUT …/fs/local (pools stopped)", http.MethodPut, "/fs/local"},
	{"PATCH …/fs/local (hot patch)", http.MethodPatch, "/fs/local"},
	{"PUT …/deploy (zero-downtime)", http.MethodPut, "/deploy"},
}

// deployOutcome sums a mode's runs.
type deployOutcome struct {
	requests, failed, mixed int
	p99s                    []float64
	first                   string
}

// DeployUnderLoad measures the three deploy modes on the same site while
// 64 connections request its page and asset (internal/deployload): failed
// requests, responses that were not entirely one version, and the p99
// latency of the requests sent while the deploy ran.
func DeployUnderLoad(o Options, s *Server) ([]Row, error) {
	version := 1
	for name, body := range deployload.Files(version) {
		if err := os.WriteFile(filepath.Join(s.TaskDir, "local", name), body, 0o644); err != nil {
			return nil, err
		}
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", s.SitePort)
	settle := 500 * time.Millisecond
	if o.Quick {
		settle = 200 * time.Millisecond
	}
	out := map[string]*deployOutcome{}
	for _, m := range deployModes {
		oc := &deployOutcome{}
		out[m.name] = oc
		for range o.Runs {
			version++
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan *deployload.Result, 1)
			go func() { done <- deployload.Run(ctx, base, deployConns) }()
			time.Sleep(settle)
			w := deployload.Window{From: time.Now()}
			err := sendDeploy(s.URL(m.route), m.method, deployload.Zip(version))
			w.To = time.Now()
			time.Sleep(settle)
			stop()
			r := <-done
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m.name, err)
			}
			unpaired, first := r.Unpaired([]deployload.Window{w})
			oc.requests += r.Requests
			oc.failed += r.Failed
			oc.mixed += r.Mixed + unpaired
			if oc.first == "" {
				oc.first = r.FirstProblem
				if oc.first == "" {
					oc.first = first
				}
			}
			lat := r.LatenciesBetween(w.From, w.To)
			if len(lat) > 0 {
				oc.p99s = append(oc.p99s, float64(Percentile(lat, 99)))
			}
			o.logf("deploy %s: version %d in %s, %d requests, %d failed, %d mixed, %d during the deploy",
				m.name, version, w.To.Sub(w.From), r.Requests, r.Failed, r.Mixed+unpaired, len(lat))
		}
	}
	describe := func(oc *deployOutcome) string {
		return fmt.Sprintf("%d failed, %d mixed of %d; p99 %s", oc.failed, oc.mixed, oc.requests, Dur(time.Duration(Median(oc.p99s))))
	}
	zdd := out[deployModes[2].name]
	note := fmt.Sprintf("internal/deployload: %d keep-alive connections request a page naming its version and an asset that must match it, "+
		"on the site of one task on iissim, while a %d-byte archive of the next version is deployed; %d runs per mode, "+
		"load from %s before to %s after each deploy. Failed: no 200 answer. Mixed: a body that is not entirely one version, or a page "+
		"and asset of different versions with no switch between them. p99: median over the runs of the p99 of the requests sent while "+
		"the deploy ran, failed ones included (a 503 of a stopped pool is fast).", deployConns, len(deployload.Zip(2)), o.Runs, settle, settle)
	for _, m := range deployModes {
		if oc := out[m.name]; oc.first != "" {
			note += fmt.Sprintf(" First problem with %s: %s.", m.name, oc.first)
		}
	}
	met := zdd.failed == 0 && zdd.mixed == 0 && zdd.requests > 0
	return []Row{
		{ID: "8", What: "Deploy under load (64 connections): " + deployModes[2].name + " vs " + deployModes[0].name,
			Ours: describe(zdd), Theirs: describe(out[deployModes[0].name]),
			Target: "0 failed, 0 mixed", Met: met, Note: note},
		{ID: "8", What: "Deploy under load (64 connections): " + deployModes[2].name + " vs " + deployModes[1].name,
			Ours: describe(zdd), Theirs: describe(out[deployModes[1].name]),
			Target: "0 failed, 0 mixed", Met: met},
	}, nil
}

// sendDeploy sends an archive with method to url.
func sendDeploy(url, method string, archive []byte) error {
	return sendZip(url, method, bytes.NewReader(archive), int64(len(archive)))
}
