//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("The Management API's file operations", Ordered, func() {
	var (
		d    *deployment
		task string
	)
	BeforeAll(func(ctx SpecContext) {
		d = deploy(ctx, pidJob)
		task = cluster.ManagementAPIAddress() + "/api/v1/allocs/" + d.Alloc.ID + "/" + taskName
	})
	page := "<html><body>sent in parts " + randomHex(8) + "</body></html>\n"

	It("uploads a page in two parts, invisible until the last one", func(ctx SpecContext) {
		half := len(page) / 2
		resp := partCall(ctx, task+"/fs/local/parts.html", page[:half], 0, len(page))
		Expect(resp.StatusCode).To(Equal(http.StatusAccepted), describe(resp))
		Expect(status(d.URL + "/parts.html")).To(Equal(http.StatusNotFound))

		head := apiCall(ctx, http.MethodHead, task+"/fs/local/parts.html", "", nil, true)
		Expect(head.StatusCode).To(Equal(http.StatusNoContent))
		Expect(head.Header.Get("Upload-Offset")).To(Equal(fmt.Sprint(half)))

		resp = partCall(ctx, task+"/fs/local/parts.html", page[half:], half, len(page))
		Expect(resp.StatusCode).To(Equal(http.StatusOK), describe(resp))
		Expect(get(d.URL + "/parts.html")).To(Equal(page))
	})

	It("copies the page under a new name, then moves the copy into a folder", func(ctx SpecContext) {
		resp := apiCall(ctx, http.MethodPost, task+"/copy", "application/json",
			strings.NewReader(`{"from":"local/parts.html","to":"local","name":"copy.html"}`), true)
		Expect(resp.StatusCode).To(Equal(http.StatusOK), describe(resp))
		Expect(get(d.URL + "/copy.html")).To(Equal(page))

		resp = apiCall(ctx, http.MethodPost, task+"/move", "application/json",
			strings.NewReader(`{"from":"local/copy.html","to":"local/sub","name":"moved.html"}`), true)
		Expect(resp.StatusCode).To(Equal(http.StatusOK), describe(resp))
		Expect(get(d.URL + "/sub/moved.html")).To(Equal(page))
		Expect(status(d.URL + "/copy.html")).To(Equal(http.StatusNotFound))
	})

	It("hands the page out through a one-use link that needs no credentials", func(ctx SpecContext) {
		resp := apiCall(ctx, http.MethodPost, task+"/links", "application/json",
			strings.NewReader(`{"path":"local/parts.html","oneUse":true,"ttlSeconds":60}`), true)
		Expect(resp.StatusCode).To(Equal(http.StatusCreated), describe(resp))
		var link struct {
			URL string `json:"url"`
		}
		Expect(json.NewDecoder(resp.Body).Decode(&link)).To(Succeed())

		first := apiCall(ctx, http.MethodGet, cluster.ManagementAPIAddress()+link.URL, "", nil, false)
		Expect(first.StatusCode).To(Equal(http.StatusOK), describe(first))
		body, err := io.ReadAll(first.Body)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(body)).To(Equal(page))

		again := apiCall(ctx, http.MethodGet, cluster.ManagementAPIAddress()+link.URL, "", nil, false)
		Expect(again.StatusCode).To(Equal(http.StatusNotFound))
	})

	It("lists the admin extensions the backend loaded", func(ctx SpecContext) {
		resp := apiCall(ctx, http.MethodGet, cluster.ManagementAPIAddress()+"/api/v1/extensions", "", nil, true)
		Expect(resp.StatusCode).To(Equal(http.StatusOK), describe(resp))
		var l struct {
			Extensions []json.RawMessage `json:"extensions"`
		}
		Expect(json.NewDecoder(resp.Body).Decode(&l)).To(Succeed())
		Expect(l.Extensions).NotTo(BeNil())
	})
})

// partCall PUTs body as the part of an upload in parts that starts at
// first, of total bytes.
func partCall(ctx context.Context, url, body string, first, total int) *http.Response {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader([]byte(body)))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, first+len(body)-1, total))
	req.Header.Set("X-Api-Key", cluster.ManagementAPIKey())
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(resp.Body.Close)
	return resp
}
