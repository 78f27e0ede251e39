//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/nomad-iis/nomad-iis/api/client"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("The Management API", Ordered, func() {
	var (
		d    *deployment
		task string // the task's base address in the API
		mc   *client.Client
		tk   client.Task
	)
	BeforeAll(func(ctx SpecContext) {
		d = deploy(ctx, pidJob)
		task = cluster.ManagementAPIAddress() + "/api/v1/allocs/" + d.Alloc.ID + "/" + taskName
		mc = mgmtClient()
		tk = client.Task{AllocID: d.Alloc.ID, TaskName: taskName}
	})

	It("refuses a request without the API key", func(ctx SpecContext) {
		resp := apiCall(ctx, http.MethodGet, task+"/status", "", nil, false)
		Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
	})

	It("reports the pool with its worker's PID", func(ctx SpecContext) {
		pid, err := workerPID(d.URL + "/pid.aspx")
		Expect(err).NotTo(HaveOccurred())

		st, err := mc.Status(ctx, tk)
		Expect(err).NotTo(HaveOccurred())
		Expect(st.AllocID).To(Equal(d.Alloc.ID))
		Expect(st.TaskName).To(Equal(taskName))
		Expect(st.DefaultApplicationPool).NotTo(BeNil())
		Expect(st.DefaultApplicationPool.Status).To(Equal("Started"))
		Expect(st.DefaultApplicationPool.IsWorkerProcessRunning).To(BeTrue())
		Expect(st.DefaultApplicationPool.WorkerProcesses).To(ContainElement(HaveField("ProcessID", pid)))
	})

	uploaded := map[string]string{
		"index.html":     "<html><body><h1>uploaded " + randomHex(6) + "</h1></body></html>\n",
		"sub/page.html":  "<html><body>a page in a folder</body></html>\n",
		"assets/app.css": "body { color: #123456; }\n",
	}
	patched := "patched " + randomHex(6) + "\n"

	It("replaces the site with an uploaded zip (PUT), stopping and restarting its pool", func(ctx SpecContext) {
		archive := testkit.MakeZip(testkit.ZipFiles(uploaded)...)
		res, err := mc.Upload(ctx, tk, "local", client.BytesSource{Data: archive, Zip: true}, client.UploadOptions{Clean: true})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Kind).To(Equal("zip"))
		Expect(res.Files).To(Equal(len(uploaded)))

		for name, content := range uploaded {
			Expect(get(d.URL+"/"+name)).To(Equal(content), "GET /%s", name)
		}
		Expect(status(d.URL+"/pid.aspx")).To(Equal(http.StatusNotFound), "clean=true removed the old files")
	})

	It("hot-patches one file (PATCH) while the site keeps running", func(ctx SpecContext) {
		res, err := mc.Upload(ctx, tk, "local/patched.txt", client.BytesSource{Data: []byte(patched)}, client.UploadOptions{Hot: true})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Kind).To(Equal("file"))

		Expect(get(d.URL + "/patched.txt")).To(Equal(patched))
	})

	It("downloads the site's folder as a zip with what was uploaded and patched", func(ctx SpecContext) {
		var archive bytes.Buffer
		dl, err := mc.DownloadFile(ctx, tk, "local", &archive, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(dl.ContentType).To(Equal("application/zip"))

		want := map[string]string{"patched.txt": patched}
		for k, v := range uploaded {
			want[k] = v
		}
		Expect(readZip(&archive)).To(Equal(want))
	})

	It("deletes a file", func(ctx SpecContext) {
		_, err := mc.Delete(ctx, tk, "local/patched.txt")
		Expect(err).NotTo(HaveOccurred())

		Expect(status(d.URL + "/patched.txt")).To(Equal(http.StatusNotFound))
		var archive bytes.Buffer
		_, err = mc.DownloadFile(ctx, tk, "local", &archive, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(readZip(&archive)).NotTo(HaveKey("patched.txt"))
	})

	It("takes a screenshot of the site as a PNG", func(ctx SpecContext) {
		var png bytes.Buffer
		dl, err := mc.Screenshot(ctx, tk, "", &png)
		Expect(err).NotTo(HaveOccurred())
		Expect(dl.ContentType).To(Equal("image/png"))
		Expect(png.Bytes()).To(HavePrefix("\x89PNG\r\n\x1a\n"))
		Expect(png.Len()).To(BeNumerically(">", 1000))
	}, NodeTimeout(2*time.Minute))

	It("dumps the worker process", func(ctx SpecContext) {
		_, err := get(d.URL + "/")
		Expect(err).NotTo(HaveOccurred(), "a request starts the worker")

		var dump bytes.Buffer
		_, err = mc.ProcDump(ctx, tk, "", 0, &dump, nil)
		Expect(err).NotTo(HaveOccurred())
		// A core file on iissim (ELF), a minidump on Windows (MDMP).
		Expect(dump.Len()).To(BeNumerically(">", 4+1000), "a head and more than 1000 bytes")
		Expect(string(dump.Bytes()[:4])).To(BeElementOf("\x7fELF", "MDMP"))
	}, NodeTimeout(3*time.Minute))
})

// mgmtClient is a client of the cluster's Management API with its key. It
// does not retry: a busy answer fails the spec as it would have without the
// client.
func mgmtClient() *client.Client {
	GinkgoHelper()
	c, err := client.New(client.Config{BaseURL: cluster.ManagementAPIAddress(), APIKey: cluster.ManagementAPIKey(), MaxRetries: -1})
	Expect(err).NotTo(HaveOccurred())
	return c
}

// apiCall sends a request to the Management API, with the key when withKey.
// The response body is closed when the spec ends.
func apiCall(ctx context.Context, method, url, contentType string, body io.Reader, withKey bool) *http.Response {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	Expect(err).NotTo(HaveOccurred())
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if withKey {
		req.Header.Set("X-Api-Key", cluster.ManagementAPIKey())
	}
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(resp.Body.Close)
	return resp
}

// describe returns the failure message of an unexpected response: its body,
// read only when the assertion fails (Gomega calls the function then).
func describe(resp *http.Response) func() string {
	return func() string {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Sprintf("%s %s: %s", resp.Request.Method, resp.Request.URL, b)
	}
}

// readZip returns the files of an archive (not its directories).
func readZip(r io.Reader) map[string]string {
	GinkgoHelper()
	data, err := io.ReadAll(r)
	Expect(err).NotTo(HaveOccurred())
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	Expect(err).NotTo(HaveOccurred())
	out := map[string]string{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		Expect(err).NotTo(HaveOccurred())
		b, err := io.ReadAll(rc)
		Expect(err).NotTo(HaveOccurred())
		Expect(rc.Close()).To(Succeed())
		out[f.Name] = string(b)
	}
	return out
}
