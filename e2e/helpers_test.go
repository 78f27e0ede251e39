//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nomad-iis/nomad-iis/e2e/launcher"
	"github.com/nomad-iis/nomad-iis/ps"
)

// Files the specs deploy.
var (
	sampleJob    = filepath.Join("..", "examples", "static_sample_app.hcl")
	pidJob       = filepath.Join("jobs", "pid.hcl")
	multipoolJob = filepath.Join("jobs", "multipool.hcl")
	badConfigJob = filepath.Join("jobs", "bad_config.hcl")
	restartJob   = filepath.Join("jobs", "restart.hcl")
)

// taskName is the task of every job file above.
const taskName = "app"

// deployment is a job running on the cluster, with the address of its site.
type deployment struct {
	JobID string
	Alloc *api.Allocation
	// URL is the site's root, http://127.0.0.1:<port>.
	URL string
}

// deploy registers a job file, registers its cleanup at once (stop and
// purge, then check from outside that its sites and pools are gone), and
// waits until its allocation runs and the site answers.
func deploy(ctx context.Context, jobFile string) *deployment {
	GinkgoHelper()
	job, err := cluster.RegisterJobFile(jobFile)
	Expect(err).NotTo(HaveOccurred())
	d := &deployment{JobID: *job.ID}
	DeferCleanup(func(ctx SpecContext) { stopAndCheckRemoved(ctx, d) }, NodeTimeout(2*time.Minute))

	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	d.Alloc, err = cluster.WaitRunning(waitCtx, d.JobID)
	Expect(err).NotTo(HaveOccurred())
	port := firstPort(d.Alloc)
	d.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	Eventually(func() (int, error) { return status(d.URL + "/") }).WithContext(ctx).
		Should(Equal(http.StatusOK), "the site of %s answers", d.JobID)
	return d
}

// firstPort is the allocation's only dynamic port.
func firstPort(alloc *api.Allocation) int {
	GinkgoHelper()
	Expect(alloc.AllocatedResources).NotTo(BeNil())
	ports := alloc.AllocatedResources.Shared.Ports
	Expect(ports).To(HaveLen(1), "the job files have one port")
	return ports[0].Value
}

// stopAndCheckRemoved stops and purges the job and checks, through the
// backend, that none of its allocations' sites and pools is left.
func stopAndCheckRemoved(ctx context.Context, d *deployment) {
	GinkgoHelper()
	stubs, _, err := cluster.Client().Jobs().Allocations(d.JobID, true, nil)
	Expect(err).NotTo(HaveOccurred())
	Expect(cluster.StopJob(ctx, d.JobID)).To(Succeed(), "stop job %s", d.JobID)
	for _, a := range stubs {
		Expect(managedResources(ctx, a.ID)).To(BeEmpty(), "sites and pools of %s after the job stopped", a.ID)
	}
}

// managedResources lists the sites ("site <name>") and pools ("pool
// <name>") of an allocation, as the web server has them.
func managedResources(ctx context.Context, allocID string) ([]string, error) {
	res, err := cluster.IIS().GetManagedResources(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range res.Websites {
		if strings.Contains(s.Name, allocID) {
			out = append(out, "site "+s.Name)
		}
	}
	for _, p := range res.AppPools {
		if strings.Contains(p.Name, allocID) {
			out = append(out, "pool "+p.Name)
		}
	}
	return out, nil
}

// appPools returns the pools of an allocation, as the web server has them.
func appPools(ctx context.Context, allocID string) []ps.AppPool {
	GinkgoHelper()
	res, err := cluster.IIS().GetManagedResources(ctx)
	Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, p := range res.AppPools {
		if strings.Contains(p.Name, allocID) {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	pools, err := cluster.IIS().GetAppPools(ctx, names...)
	Expect(err).NotTo(HaveOccurred())
	return pools
}

// httpClient is the client of every request to a site; keep-alives are off
// so that each request sees the site as it is now (a recycled worker, a
// stopped pool).
var httpClient = &http.Client{
	Timeout:   15 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

// get returns a page's body and fails unless the status is 200.
func get(url string) (string, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), nil
}

// status returns a page's status code.
func status(url string) (int, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// workerPID returns the PID an .aspx page reports.
func workerPID(url string) (int, error) {
	body, err := get(url)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(body)
	s = strings.TrimPrefix(s, "pid=")
	pid, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%s: no PID in %q", url, body)
	}
	return pid, nil
}

// nomad runs the nomad CLI against the cluster and returns its output.
func nomad(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, cluster.NomadBin(), args...)
	cmd.Env = cluster.CLIEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("nomad %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// allocInfo returns the allocation as the server has it now.
func allocInfo(id string) (*api.Allocation, error) {
	alloc, _, err := cluster.Client().Allocations().Info(id, nil)
	return alloc, err
}

// taskEvents lists the task's event types and messages, for assertions.
func taskEvents(alloc *api.Allocation) string {
	return launcher.FormatTaskEvents(alloc)
}
