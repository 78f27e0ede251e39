package api

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/internal/deployload"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
)

// loadConns is the load generator's connection count during a deploy.
const loadConns = 64

// TestDeploy_UnderLoadDropsNothing deploys twice and rolls back while 64
// connections request the site's page and asset: no request may fail, and
// every response must be entirely one version.
func TestDeploy_UnderLoadDropsNothing(t *testing.T) {
	s := newSimEnv(t, "")
	for name, body := range deployload.Files(1) {
		must.NoError(t, os.WriteFile(filepath.Join(s.task.TaskDir, "local", name), body, 0o644))
	}
	s.waitWorker()
	base := fmt.Sprintf("http://127.0.0.1:%d", s.port)

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan *deployload.Result, 1)
	go func() { done <- deployload.Run(ctx, base, loadConns) }()
	seen := func(v int) bool {
		code, body := s.site("/index.html")
		return code == 200 && string(body) == string(deployload.Page(v))
	}
	testkit.Eventually(t, "version 1 is served", func() bool { return seen(1) })

	var switches []deployload.Window
	for _, step := range []struct {
		route string
		body  []byte
		want  int
	}{
		{"/deploy", deployload.Zip(2), 2},
		{"/deploy", deployload.Zip(3), 3},
		{"/deploy/rollback", nil, 2},
	} {
		w := deployload.Window{From: time.Now()}
		code, res, out := s.deploy(step.route, "", step.body)
		w.To = time.Now()
		switches = append(switches, w)
		must.Eq(t, 200, code, must.Sprint(out))
		must.Eq(t, "Overlapped", res.Mode)
		testkit.Eventually(t, fmt.Sprintf("version %d is served", step.want), func() bool { return seen(step.want) })
	}
	stop()
	r := <-done
	must.Positive(t, r.Requests)
	must.Eq(t, 0, r.Failed, must.Sprintf("failed requests during the deploys; first: %s", r.FirstProblem))
	must.Eq(t, 0, r.Mixed, must.Sprintf("responses not entirely one version; first: %s", r.FirstProblem))
	unpaired, first := r.Unpaired(switches)
	must.Eq(t, 0, unpaired, must.Sprintf("page and asset of different versions; first: %s", first))
	for _, v := range []int{1, 2, 3} {
		must.Positive(t, r.Seen[v], must.Sprintf("the clients saw version %d (seen: %v)", v, r.Seen))
	}
}
