//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nomad-iis/nomad-iis/api/client"
	"github.com/nomad-iis/nomad-iis/e2e/launcher"
)

// twoNodeJob runs one allocation on each of two nodes.
var twoNodeJob = filepath.Join("jobs", "two_nodes.hcl")

// cliRun is one run of the nomad-iis command.
type cliRun struct {
	code           int
	stdout, stderr string
}

// The nomad-iis command on a cluster of two nodes, each with its own
// plugin, iissim and Management API: by job name, it acts on both
// allocations.
var _ = Describe("the nomad-iis command", Ordered, func() {
	var (
		two    *launcher.Cluster
		cli    string
		secret = "e2e-jwt-secret-0123456789abcdef-0123456789"
		allocs []*api.Allocation
	)

	run := func(ctx context.Context, env []string, args ...string) cliRun {
		GinkgoHelper()
		cmd := exec.CommandContext(ctx, cli, args...)
		cmd.Env = append(os.Environ(), "NOMAD_ADDR="+two.Address())
		cmd.Env = append(cmd.Env, env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			Expect(err).NotTo(HaveOccurred())
		}
		GinkgoWriter.Printf("nomad-iis %s: exit %d\nstdout:\n%s\nstderr:\n%s\n", strings.Join(args, " "), code, stdout.String(), stderr.String())
		return cliRun{code: code, stdout: stdout.String(), stderr: stderr.String()}
	}
	withKey := func() []string { return []string{"NOMAD_IIS_API_KEY=" + two.ManagementAPIKey(), "NOMAD_IIS_TOKEN="} }

	// workerPIDs asks each node's API (not the command) for the pools'
	// worker processes, per allocation.
	workerPIDs := func(ctx context.Context) map[string][]int {
		GinkgoHelper()
		out := map[string][]int{}
		for _, al := range allocs {
			for _, base := range two.ManagementAPIAddresses() {
				c, err := client.New(client.Config{BaseURL: base, APIKey: two.ManagementAPIKey()})
				Expect(err).NotTo(HaveOccurred())
				st, err := c.Status(ctx, client.Task{AllocID: al.ID, TaskName: taskName})
				if err != nil {
					continue // the other node's
				}
				for _, p := range st.ApplicationPools {
					for _, w := range p.WorkerProcesses {
						out[al.ID] = append(out[al.ID], w.ProcessID)
					}
				}
			}
		}
		return out
	}

	BeforeAll(func(ctx SpecContext) {
		cli = binary("NOMAD_IIS_CLI", "nomad-iis")
		_, err := os.Stat(cli)
		Expect(err).NotTo(HaveOccurred(), "the nomad-iis command (make build)")
		cli, _ = filepath.Abs(cli)
		two, err = launcher.Start(ctx, launcher.Config{
			NomadBin:               binary("NOMAD_BIN", "nomad"),
			PluginBin:              binary("NOMAD_IIS_PLUGIN", "nomad_iis"),
			PowerShellPath:         os.Getenv("NOMAD_IIS_POWERSHELL"),
			PlaywrightDriverDir:    os.Getenv("NOMAD_IIS_PLAYWRIGHT_DRIVER"),
			ScreenshotBrowser:      os.Getenv("NOMAD_IIS_BROWSER"),
			ManagementAPIJWTSecret: secret,
			Clients:                2,
			Logger:                 hclog.New(&hclog.LoggerOptions{Name: "launcher-2", Output: GinkgoWriter, Level: hclog.Info}),
		})
		Expect(err).NotTo(HaveOccurred(), "start Nomad with two clients")
		DeferCleanup(func(ctx SpecContext) {
			Expect(two.Stop(ctx)).To(Succeed(), "stop the two-client cluster")
		}, NodeTimeout(3*time.Minute))

		job, err := two.RegisterJobFile(twoNodeJob)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			stubs, _, err := two.Client().Jobs().Allocations(*job.ID, false, nil)
			g.Expect(err).NotTo(HaveOccurred())
			allocs = nil
			nodes := map[string]bool{}
			for _, s := range stubs {
				if s.ClientStatus == api.AllocClientStatusRunning {
					al, _, err := two.Client().Allocations().Info(s.ID, nil)
					g.Expect(err).NotTo(HaveOccurred())
					allocs = append(allocs, al)
					nodes[s.NodeID] = true
				}
			}
			g.Expect(allocs).To(HaveLen(2))
			g.Expect(nodes).To(HaveLen(2), "one allocation per node")
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		for _, al := range allocs {
			url := fmt.Sprintf("http://127.0.0.1:%d/", firstPort(al))
			Eventually(func() (string, error) { return get(url) }).WithContext(ctx).Should(ContainSubstring("version 1"))
		}
	}, NodeTimeout(5*time.Minute))

	It("deploys a folder to both allocations by job name; status shows both with new workers; each site serves it", func(ctx SpecContext) {
		before := workerPIDs(ctx)
		Expect(before).To(HaveLen(2), "a worker per allocation, started by the first request")

		site := GinkgoT().TempDir()
		Expect(os.MkdirAll(filepath.Join(site, "css"), 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(site, "index.html"), []byte("<html><body>version 2 from the command</body></html>\n"), 0o644)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(site, "css", "site.css"), []byte("body { color: teal }\n"), 0o644)).To(Succeed())

		r := run(ctx, withKey(), "deploy", "--job", "e2e-cli", "--clean", "--wait-http", "/", site)
		Expect(r.code).To(Equal(0))
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		Expect(lines).To(HaveLen(2))
		for _, al := range allocs {
			Expect(r.stdout).To(MatchRegexp(`%s \S+ app: deployed 2 files \(.*\) to local, pools running again: default .*GET / answered 200`, al.ID[:8]))
		}

		for _, al := range allocs {
			Expect(get(fmt.Sprintf("http://127.0.0.1:%d/", firstPort(al)))).To(ContainSubstring("version 2 from the command"))
		}

		// The pools' states are cached for a second: the workers the
		// requests above started show up in the next status.
		Eventually(func(g Gomega) {
			r := run(ctx, withKey(), "status", "--job", "e2e-cli", "--json")
			g.Expect(r.code).To(Equal(0))
			var st []struct {
				AllocID string         `json:"allocId"`
				Node    string         `json:"node"`
				Status  *client.Status `json:"status"`
			}
			g.Expect(json.Unmarshal([]byte(r.stdout), &st)).To(Succeed())
			g.Expect(st).To(HaveLen(2))
			g.Expect(st[0].Node).NotTo(Equal(st[1].Node))
			for _, s := range st {
				g.Expect(s.Status.ApplicationPools).NotTo(BeEmpty())
				pool := s.Status.ApplicationPools[0]
				g.Expect(pool.Status).To(Equal("Started"))
				g.Expect(pool.WorkerProcesses).NotTo(BeEmpty())
				for _, w := range pool.WorkerProcesses {
					g.Expect(before[s.AllocID]).NotTo(ContainElement(w.ProcessID), "a new worker after the deploy")
				}
			}
		}).WithContext(ctx).Should(Succeed())
	})

	It("deploys without downtime by job name, shows the version in status, and rolls back; each site serves the new, then the old content", func(ctx SpecContext) {
		before := map[string]string{}
		for _, al := range allocs {
			page, err := get(fmt.Sprintf("http://127.0.0.1:%d/", firstPort(al)))
			Expect(err).NotTo(HaveOccurred())
			before[al.ID] = page
		}
		site := GinkgoT().TempDir()
		Expect(os.WriteFile(filepath.Join(site, "index.html"), []byte("<html><body>version 3 without downtime</body></html>\n"), 0o644)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(site, "health.html"), []byte("ok\n"), 0o644)).To(Succeed())

		r := run(ctx, withKey(), "deploy", "--zero-downtime", "--job", "e2e-cli", "--warmup", "/health.html", "--warmup-timeout", "30s", site)
		Expect(r.code).To(Equal(0))
		Expect(strings.Split(strings.TrimSpace(r.stdout), "\n")).To(HaveLen(2))
		for _, al := range allocs {
			Expect(r.stdout).To(MatchRegexp(`%s \S+ app: deployed version v1 \(2 files, .*\) to / \(Overlapped, warm-up 200\), previous initial, kept initial v1\n`, al.ID[:8]))
			// The switch is done when the command returns: no wait.
			Expect(get(fmt.Sprintf("http://127.0.0.1:%d/", firstPort(al)))).To(ContainSubstring("version 3 without downtime"))
		}

		r = run(ctx, withKey(), "status", "--job", "e2e-cli", "--json")
		Expect(r.code).To(Equal(0))
		var st []struct {
			AllocID string         `json:"allocId"`
			Status  *client.Status `json:"status"`
		}
		Expect(json.Unmarshal([]byte(r.stdout), &st)).To(Succeed())
		Expect(st).To(HaveLen(2))
		for _, s := range st {
			Expect(s.Status.Deployments).To(HaveLen(1))
			Expect(s.Status.Deployments[0].Application).To(Equal("/"))
			Expect(s.Status.Deployments[0].Current.ID).To(Equal("v1"))
			Expect(s.Status.Deployments[0].Kept).To(HaveLen(1))
			Expect(s.Status.Deployments[0].Kept[0].ID).To(Equal("initial"))
		}
		r = run(ctx, withKey(), "status", "--job", "e2e-cli")
		Expect(r.code).To(Equal(0))
		Expect(r.stdout).To(ContainSubstring("APPLICATION"))
		Expect(r.stdout).To(MatchRegexp(`%s .* v1 `, allocs[0].ID[:8]))

		r = run(ctx, withKey(), "rollback", "--job", "e2e-cli")
		Expect(r.code).To(Equal(0))
		for _, al := range allocs {
			Expect(r.stdout).To(MatchRegexp(`%s \S+ app: rolled back to version initial at / \(Overlapped\), previous v1, kept initial v1\n`, al.ID[:8]))
			Expect(get(fmt.Sprintf("http://127.0.0.1:%d/", firstPort(al)))).To(Equal(before[al.ID]), "the job's folder serves again")
		}

		// A version that is not kept: the API's 404 on each allocation, exit 3.
		r = run(ctx, withKey(), "rollback", "--job", "e2e-cli", "--version", "v9")
		Expect(r.code).To(Equal(3))
		Expect(r.stdout).To(BeEmpty())
		Expect(strings.Count(r.stderr, `404 Not Found: query parameter version="v9": no such version is kept; kept: initial, v1`)).To(Equal(2))
	})

	It("takes a screenshot that is a PNG", func(ctx SpecContext) {
		out := filepath.Join(GinkgoT().TempDir(), "shot.png")
		r := run(ctx, withKey(), "screenshot", "--alloc", allocs[0].ID, "-o", out)
		Expect(r.code).To(Equal(0))
		b, err := os.ReadFile(out)
		Expect(err).NotTo(HaveOccurred())
		Expect(len(b)).To(BeNumerically(">", 8))
		Expect(string(b[:8])).To(Equal("\x89PNG\r\n\x1a\n"))
	})

	It("refuses a deploy with a token limited to Status, with the API's 403", func(ctx SpecContext) {
		r := run(ctx, []string{"NOMAD_IIS_MANAGEMENT_API_JWT_SECRET=" + secret, "NOMAD_IIS_API_KEY="},
			"token", "--job", "e2e-cli", "--capability", "Status", "--ttl", "5m")
		Expect(r.code).To(Equal(0))
		token := strings.TrimSpace(r.stdout)
		asToken := []string{"NOMAD_IIS_TOKEN=" + token, "NOMAD_IIS_API_KEY="}

		r = run(ctx, asToken, "status", "--job", "e2e-cli")
		Expect(r.code).To(Equal(0), "Status is granted")

		r = run(ctx, asToken, "deploy", "--job", "e2e-cli", GinkgoT().TempDir())
		Expect(r.code).To(Equal(1))
		Expect(r.stdout).To(BeEmpty())
		Expect(strings.Count(r.stderr, "403 Forbidden")).To(Equal(2), "both allocations refused")
		Expect(r.stderr).To(ContainSubstring("nomad-iis: 2 of 2 allocations failed"))
	})
})
