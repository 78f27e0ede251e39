//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/nomad-iis/nomad-iis/internal/deployload"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("A zero-downtime deploy through the Management API", Ordered, func() {
	var (
		d    *deployment
		task string // the task's base address in the API
	)
	BeforeAll(func(ctx SpecContext) {
		d = deploy(ctx, pidJob)
		task = cluster.ManagementAPIAddress() + "/api/v1/allocs/" + d.Alloc.ID + "/" + taskName
	})

	// zdd deploys version n (or rolls back when n is 0) and returns how long it took.
	zdd := func(ctx context.Context, n int) deployload.Window {
		GinkgoHelper()
		w := deployload.Window{From: time.Now()}
		url, body, ct := task+"/deploy/rollback", []byte(nil), ""
		if n > 0 {
			url, body, ct = task+"/deploy", deployload.Zip(n), "application/zip"
		}
		resp := apiCall(ctx, http.MethodPut, url, ct, bytes.NewReader(body), true)
		w.To = time.Now()
		Expect(resp.StatusCode).To(Equal(http.StatusOK), describe(resp))
		var res struct {
			Mode string `json:"mode"`
		}
		Expect(json.NewDecoder(resp.Body).Decode(&res)).To(Succeed())
		Expect(res.Mode).To(Equal("Overlapped"))
		return w
	}
	serves := func() func() (string, error) {
		return func() (string, error) { return get(d.URL + "/index.html") }
	}

	It("switches versions under 64 connections without a failed or mixed response, and the task keeps running", func(ctx SpecContext) {
		zdd(ctx, 1)
		Eventually(serves()).WithContext(ctx).Should(Equal(string(deployload.Page(1))))

		load, stop := context.WithCancel(context.Background())
		done := make(chan *deployload.Result, 1)
		go func() { done <- deployload.Run(load, d.URL, 64) }()
		time.Sleep(500 * time.Millisecond)
		windows := []deployload.Window{zdd(ctx, 2)}
		Eventually(serves()).WithContext(ctx).Should(Equal(string(deployload.Page(2))))
		windows = append(windows, zdd(ctx, 0))
		Eventually(serves()).WithContext(ctx).Should(Equal(string(deployload.Page(1))))
		time.Sleep(500 * time.Millisecond)
		stop()
		r := <-done

		Expect(r.Requests).To(BeNumerically(">", 0))
		Expect(r.Failed).To(BeZero(), "failed requests; first: %s", r.FirstProblem)
		Expect(r.Mixed).To(BeZero(), "bodies of no single version; first: %s", r.FirstProblem)
		unpaired, first := r.Unpaired(windows)
		Expect(unpaired).To(BeZero(), "page and asset of different versions: %s", first)
		Expect(r.Seen).To(HaveKey(1))
		Expect(r.Seen).To(HaveKey(2))

		alloc, err := allocInfo(d.Alloc.ID)
		Expect(err).NotTo(HaveOccurred())
		Expect(alloc.ClientStatus).To(Equal("running"), taskEvents(alloc))
		// Task events reach the server a little later.
		Eventually(func() (string, error) {
			a, err := allocInfo(d.Alloc.ID)
			if err != nil {
				return "", err
			}
			return taskEvents(a), nil
		}).WithContext(ctx).Should(And(ContainSubstring("deployed version v2"), ContainSubstring("rolled / back to version v1")))
	})

	It("lists the current and kept versions in status", func(ctx SpecContext) {
		var st struct {
			Deployments []struct {
				Application string `json:"application"`
				Current     struct {
					ID string `json:"id"`
				} `json:"current"`
				Kept []struct {
					ID string `json:"id"`
				} `json:"kept"`
			} `json:"deployments"`
		}
		resp := apiCall(ctx, http.MethodGet, task+"/status", "", nil, true)
		Expect(resp.StatusCode).To(Equal(http.StatusOK), describe(resp))
		Expect(json.NewDecoder(resp.Body).Decode(&st)).To(Succeed())
		Expect(st.Deployments).To(HaveLen(1))
		Expect(st.Deployments[0].Application).To(Equal("/"))
		Expect(st.Deployments[0].Current.ID).To(Equal("v1"))
		Expect(st.Deployments[0].Kept).To(ConsistOf(HaveField("ID", "initial"), HaveField("ID", "v2")))
	})
})
