//go:build e2e

package e2e

import (
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("nomad alloc signal", func() {
	var d *deployment
	BeforeEach(func(ctx SpecContext) {
		d = deploy(ctx, pidJob)
	})

	It("RECYCLE replaces the worker process", func(ctx SpecContext) {
		before, err := workerPID(d.URL + "/pid.aspx")
		Expect(err).NotTo(HaveOccurred())

		_, err = nomad(ctx, "alloc", "signal", "-s", "RECYCLE", d.Alloc.ID, taskName)
		Expect(err).NotTo(HaveOccurred())

		Eventually(func() (int, error) { return workerPID(d.URL + "/pid.aspx") }).WithContext(ctx).
			ShouldNot(Equal(before))
		Eventually(func() (string, error) {
			out, err := nomad(ctx, "alloc", "status", d.Alloc.ID)
			return strings.ToLower(out), err
		}).WithContext(ctx).Should(ContainSubstring("recycled"), "a task event says so")
	})

	It("STOP stops the pools while the allocation keeps running, and START starts them", func(ctx SpecContext) {
		_, err := nomad(ctx, "alloc", "signal", "-s", "STOP", d.Alloc.ID, taskName)
		Expect(err).NotTo(HaveOccurred())

		Eventually(func() (int, error) { return status(d.URL + "/") }).WithContext(ctx).
			Should(Equal(http.StatusServiceUnavailable))
		Eventually(func(g Gomega) {
			pools := appPools(ctx, d.Alloc.ID)
			g.Expect(pools).NotTo(BeEmpty())
			for _, p := range pools {
				g.Expect(p.State).To(Equal("Stopped"), "pool %s", p.Name)
			}
		}).WithContext(ctx).Should(Succeed())
		alloc, err := allocInfo(d.Alloc.ID)
		Expect(err).NotTo(HaveOccurred())
		Expect(alloc.ClientStatus).To(Equal("running"), taskEvents(alloc))
		Expect(alloc.TaskStates[taskName].Restarts).To(BeZero(), "a stop by signal is not a task exit")

		_, err = nomad(ctx, "alloc", "signal", "-s", "START", d.Alloc.ID, taskName)
		Expect(err).NotTo(HaveOccurred())

		Eventually(func() (string, error) { return get(d.URL + "/") }).WithContext(ctx).
			Should(ContainSubstring("e2e-pid"))
		for _, p := range appPools(ctx, d.Alloc.ID) {
			Expect(p.State).To(Equal("Started"), "pool %s", p.Name)
		}
	})
})
