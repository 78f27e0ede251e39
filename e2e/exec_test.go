//go:build e2e

package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// execCommand is the nomad alloc exec command line that runs script in the
// task's shell: cmd.exe on Windows, /bin/sh elsewhere.
func execCommand(allocID string, script string, flags ...string) []string {
	args := append([]string{"alloc", "exec", "-task", taskName}, flags...)
	args = append(args, allocID)
	if runtime.GOOS == "windows" {
		return append(args, "cmd.exe", "/c", script)
	}
	return append(args, "/bin/sh", "-c", script)
}

// nomadExit runs the nomad CLI and returns its combined output and exit
// status; err only when it could not run at all.
func nomadExit(ctx context.Context, args ...string) (string, int, error) {
	cmd := exec.CommandContext(ctx, cluster.NomadBin(), args...)
	cmd.Env = cluster.CLIEnv()
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return string(out), exitErr.ExitCode(), nil
	}
	return string(out), 0, err
}

var _ = Describe("nomad alloc exec", func() {
	var d *deployment
	BeforeEach(func(ctx SpecContext) {
		d = deploy(ctx, pidJob)
	}, NodeTimeout(2*time.Minute))

	It("runs a command in the task directory with the task's environment", func(ctx SpecContext) {
		script := "pwd; env"
		if runtime.GOOS == "windows" {
			script = "cd & set"
		}
		out, code, err := nomadExit(ctx, execCommand(d.Alloc.ID, script)...)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(BeZero(), out)
		lines := strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n")
		Expect(lines[0]).To(HaveSuffix(d.Alloc.ID+string(separator())+taskName), "the task directory")
		Expect(lines).To(ContainElement("MY_VARIABLE=hello from nomad"), "the job's env block")
		Expect(lines).To(ContainElement("NOMAD_ALLOC_ID="+d.Alloc.ID), "Nomad's variables")
		Expect(lines).To(ContainElement("NOMAD_TASK_NAME=" + taskName))
		Expect(lines).To(ContainElement(HavePrefix("TMP=")), "the pool's TMP")
		Eventually(func() string { return auditLine(d.Alloc.ID) }).
			Should(SatisfyAll(ContainSubstring("exit_code=0"), ContainSubstring("identity="), ContainSubstring("duration=")),
				"the audit line in the plugin log")
	}, NodeTimeout(2*time.Minute))

	It("propagates a non-zero exit status", func(ctx SpecContext) {
		out, code, err := nomadExit(ctx, execCommand(d.Alloc.ID, "echo failing && exit 3")...)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(3), out)
		Expect(out).To(ContainSubstring("failing"))
	}, NodeTimeout(2*time.Minute))

	It("says why when the pool is stopped", func(ctx SpecContext) {
		_, err := nomad(ctx, "alloc", "signal", "-s", "STOP", d.Alloc.ID, taskName)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			pools := appPools(ctx, d.Alloc.ID)
			g.Expect(pools).NotTo(BeEmpty())
			for _, p := range pools {
				g.Expect(p.State).To(Equal("Stopped"), "pool %s", p.Name)
			}
		}).WithContext(ctx).Should(Succeed())
		out, code, err := nomadExit(ctx, execCommand(d.Alloc.ID, "echo never")...)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(126), out)
		Expect(out).To(ContainSubstring("is stopped"))
		Expect(out).To(ContainSubstring("nomad alloc signal -s START"))
		Expect(out).NotTo(ContainSubstring("never"))
	}, NodeTimeout(2*time.Minute))
})

// auditLine is the plugin's last exec audit line about allocID in the
// client's log, or "".
func auditLine(allocID string) string {
	// Read whole: LogTail shortens long lines, and the audit line is long.
	data, err := os.ReadFile(cluster.LogPath())
	if err != nil {
		return ""
	}
	lines := strings.Split(string(data), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "nomad_iis: exec:") && strings.Contains(lines[i], "alloc_id="+allocID) {
			return lines[i]
		}
	}
	return ""
}

// separator is the path separator of the node.
func separator() rune {
	if runtime.GOOS == "windows" {
		return '\\'
	}
	return '/'
}
