//go:build e2e

package e2e

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("A website task", func() {
	It("serves the static sample app's page", func(ctx SpecContext) {
		d := deploy(ctx, sampleJob)

		body, err := get(d.URL + "/")
		Expect(err).NotTo(HaveOccurred())
		Expect(body).To(ContainSubstring("<h1>Static Sample App</h1>"))
		Expect(managedResources(ctx, d.Alloc.ID)).To(ConsistOf(
			HavePrefix("site nomad-"), HavePrefix("pool nomad-")), "one site and its default pool")
	})

	It("serves several applications from their own pools, with a virtual directory", func(ctx SpecContext) {
		d := deploy(ctx, multipoolJob)

		for path, want := range map[string]string{
			"/":                      "root application",
			"/app-a/":                "application a",
			"/app-b/":                "application b",
			"/app-b/shared/note.txt": "shared through a virtual directory",
		} {
			Expect(get(d.URL+path)).To(ContainSubstring(want), "GET %s", path)
		}
		// Three pools, so three worker processes answer.
		pids := map[int]string{}
		for _, app := range []string{"/", "/app-a/", "/app-b/"} {
			pid, err := workerPID(d.URL + app + "pid.aspx")
			Expect(err).NotTo(HaveOccurred())
			Expect(pids).NotTo(HaveKey(pid), "%s shares a worker with %s", app, pids[pid])
			pids[pid] = app
		}
		pools := appPools(ctx, d.Alloc.ID)
		Expect(pools).To(HaveLen(3))
		for _, p := range pools {
			Expect(p.State).To(Equal("Started"), "pool %s", p.Name)
		}
	})

	It("passes the task's environment to the application", func(ctx SpecContext) {
		d := deploy(ctx, pidJob)

		body, err := get(d.URL + "/env.aspx")
		Expect(err).NotTo(HaveOccurred())
		Expect(body).To(ContainSubstring("MY_VARIABLE=hello from nomad"))
		Expect(body).To(ContainSubstring("NOMAD_ALLOC_ID=" + d.Alloc.ID))
		Expect(body).To(ContainSubstring("NOMAD_TASK_NAME=" + taskName))
	})

	It("removes the site and its pools when the job stops", func(ctx SpecContext) {
		d := deploy(ctx, sampleJob)
		Expect(managedResources(ctx, d.Alloc.ID)).To(HaveLen(2))

		_, err := nomad(ctx, "job", "stop", "-detach", d.JobID)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() (string, error) {
			alloc, err := allocInfo(d.Alloc.ID)
			if err != nil {
				return "", err
			}
			return alloc.ClientStatus, nil
		}).WithContext(ctx).Should(Equal("complete"))

		Expect(managedResources(ctx, d.Alloc.ID)).To(BeEmpty())
		Eventually(func() error {
			_, err := status(d.URL + "/")
			return err
		}).WithContext(ctx).Should(HaveOccurred(), "nothing listens on the site's port any more")
	})

	It("fails a task whose configuration is invalid, with the reason in nomad alloc status", func(ctx SpecContext) {
		job, err := cluster.RegisterJobFile(badConfigJob)
		Expect(err).NotTo(HaveOccurred())
		d := &deployment{JobID: *job.ID}
		DeferCleanup(func(ctx SpecContext) { stopAndCheckRemoved(ctx, d) })

		var allocID string
		Eventually(func(g Gomega) {
			stubs, _, err := cluster.Client().Jobs().Allocations(d.JobID, true, nil)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(stubs).To(HaveLen(1))
			g.Expect(stubs[0].ClientStatus).To(Equal("failed"))
			allocID = stubs[0].ID
		}).WithContext(ctx).Should(Succeed())

		out, err := nomad(ctx, "alloc", "status", allocID)
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("muchtoolongpoolname"), "the event names the bad pool")
		Expect(out).To(ContainSubstring("use at most 8"), "and says what is allowed")
		Expect(managedResources(ctx, allocID)).To(BeEmpty(), "a failed start leaves nothing behind")
	})

	It("is restarted by its restart policy when its pool is stopped outside Nomad", func(ctx SpecContext) {
		d := deploy(ctx, restartJob)
		pools := appPools(ctx, d.Alloc.ID)
		Expect(pools).To(HaveLen(1))

		// An operator stops the pool in IIS Manager.
		_, err := cluster.IIS().StopAppPool(ctx, pools[0].Name, 30_000)
		Expect(err).NotTo(HaveOccurred())

		Eventually(func(g Gomega) {
			alloc, err := allocInfo(d.Alloc.ID)
			g.Expect(err).NotTo(HaveOccurred())
			ts := alloc.TaskStates[taskName]
			g.Expect(ts).NotTo(BeNil())
			g.Expect(ts.Restarts).To(BeNumerically(">=", 1), taskEvents(alloc))
			g.Expect(ts.State).To(Equal("running"))
		}).WithContext(ctx).Should(Succeed())
		Eventually(func() (int, error) { return status(d.URL + "/") }).WithContext(ctx).Should(Equal(http.StatusOK))
		out, err := nomad(ctx, "alloc", "status", d.Alloc.ID)
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("Restarting"))
	})
})
