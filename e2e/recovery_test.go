//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Recovery", Serial, func() {
	It("keeps the site serving through a plugin crash and an agent restart, and recovers the task", func(ctx SpecContext) {
		d := deploy(ctx, pidJob)
		worker, err := workerPID(d.URL + "/pid.aspx")
		Expect(err).NotTo(HaveOccurred())

		// A user keeps requesting the page all along.
		p := startPoller(d.URL + "/")
		DeferCleanup(func() { p.stop() })

		plugins, err := agent.PluginPIDs(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(plugins).To(HaveLen(1))
		_, err = agent.KillPlugin(ctx)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() ([]int, error) { return agent.PluginPIDs(ctx) }).WithContext(ctx).
			Should(And(HaveLen(1), Not(ContainElement(plugins[0]))), "the agent starts the plugin again")

		Expect(agent.Restart(ctx)).To(Succeed())

		Eventually(func(g Gomega) {
			alloc, err := allocInfo(d.Alloc.ID)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(alloc.ClientStatus).To(Equal("running"))
			ts := alloc.TaskStates[taskName]
			g.Expect(ts.State).To(Equal("running"))
			g.Expect(ts.Restarts).To(BeZero(), "the task was recovered, not restarted:%s", taskEvents(alloc))
			started := 0
			for _, e := range ts.Events {
				if e.Type == "Started" {
					started++
				}
			}
			g.Expect(started).To(Equal(1), "one start only:%s", taskEvents(alloc))
		}).WithContext(ctx).Should(Succeed())
		Expect(workerPID(d.URL+"/pid.aspx")).To(Equal(worker), "the same worker process still serves")

		requests, failures := p.stop()
		Expect(failures).To(BeEmpty(), "the site answered every request")
		Expect(requests).To(BeNumerically(">=", 10))

		// The recovered task is under the driver's control: signals reach it.
		_, err = nomad(ctx, "alloc", "signal", "-s", "RECYCLE", d.Alloc.ID, taskName)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() (int, error) { return workerPID(d.URL + "/pid.aspx") }).WithContext(ctx).
			ShouldNot(Equal(worker))
	})
})

// poller requests a page every 100 ms and records every failure.
type poller struct {
	cancel context.CancelFunc
	done   chan struct{}

	// lock guards the fields below.
	lock     sync.Mutex
	requests int
	failures []string
}

func startPoller(url string) *poller {
	ctx, cancel := context.WithCancel(context.Background())
	p := &poller{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer GinkgoRecover()
		defer close(p.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			code, err := status(url)
			p.lock.Lock()
			p.requests++
			switch {
			case err != nil:
				p.failures = append(p.failures, fmt.Sprintf("%s: %v", time.Now().Format(time.TimeOnly), err))
			case code != http.StatusOK:
				p.failures = append(p.failures, fmt.Sprintf("%s: status %d", time.Now().Format(time.TimeOnly), code))
			}
			p.lock.Unlock()
		}
	}()
	return p
}

// stop ends the polling and returns the number of requests and the failures.
func (p *poller) stop() (int, string) {
	p.cancel()
	<-p.done
	p.lock.Lock()
	defer p.lock.Unlock()
	return p.requests, strings.Join(p.failures, "\n")
}
