//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("nomad alloc logs", func() {
	It("shows the site's request log", func(ctx SpecContext) {
		d := deploy(ctx, sampleJob)
		probe := randomHex(8)

		_, err := get(d.URL + "/index.html?probe=" + probe)
		Expect(err).NotTo(HaveOccurred())

		// IIS writes its log buffer out within a minute or so; iissim at once.
		Eventually(func() (string, error) { return nomad(ctx, "alloc", "logs", d.Alloc.ID, taskName) }).
			WithContext(ctx).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).
			Should(And(ContainSubstring("/index.html"), ContainSubstring("probe="+probe)))
	})
})

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
