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
	It("keeps the site serving through a plugin crash and a client restart, and recovers the task", func(ctx SpecContext) {
		d := deploy(ctx, pidJob)
		worker, err := workerPID(d.URL + "/pid.aspx")
		Expect(err).NotTo(HaveOccurred())

		// A user keeps requesting the page all along.
		p := startPoller(d.URL + "/")
		DeferCleanup(func() { p.stop() })

		plugins, err := cluster.PluginPIDs(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(plugins).To(HaveLen(1))
		_, err = cluster.KillPlugin(ctx)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() ([]int, error) { return cluster.PluginPIDs(ctx) }).WithContext(ctx).
			Should(And(HaveLen(1), Not(ContainElement(plugins[0]))), "the client starts the plugin again")
		p.observe(ctx, 5)

		Expect(cluster.Restart(ctx)).To(Succeed())
		p.observe(ctx, 5)

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
		Expect(failures).To(BeEmpty(), "the site answered every one of %d requests", requests)

		// The request log still reaches nomad alloc logs.
		probe := randomHex(8)
		_, err = get(d.URL + "/index.html?probe=" + probe)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() (string, error) { return nomad(ctx, "alloc", "logs", d.Alloc.ID, taskName) }).
			WithContext(ctx).WithTimeout(3*time.Minute).WithPolling(2*time.Second).
			Should(ContainSubstring("probe="+probe), "the request log after the restart")

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

// observe waits until the poller has made n more requests.
func (p *poller) observe(ctx context.Context, n int) {
	GinkgoHelper()
	p.lock.Lock()
	want := p.requests + n
	p.lock.Unlock()
	Eventually(func() int {
		p.lock.Lock()
		defer p.lock.Unlock()
		return p.requests
	}).WithContext(ctx).Should(BeNumerically(">=", want))
}

// stop ends the polling and returns the number of requests and the failures.
func (p *poller) stop() (int, string) {
	p.cancel()
	<-p.done
	p.lock.Lock()
	defer p.lock.Unlock()
	return p.requests, strings.Join(p.failures, "\n")
}
