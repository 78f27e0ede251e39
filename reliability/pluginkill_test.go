package reliability

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/api"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
)

// serverModeEnv makes the test binary run a standalone Management API over
// one task (the directory in serverTaskDirEnv), as the plugin process would.
const (
	serverModeEnv    = "RELIABILITY_API_SERVER"
	serverTaskDirEnv = "RELIABILITY_API_TASKDIR"
)

// serverMode serves the API until killed; it prints "LISTEN <addr>" once ready.
func serverMode() int {
	reg := testkit.NewRegistry(taskFor(1, os.Getenv(serverTaskDirEnv)))
	srv, err := api.New(api.Config{APIKeys: []string{apiKey}}, reg, testkit.DownIIS{}, hclog.NewNullLogger())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	if err := srv.Serve(context.Background(), ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// apiProcess is a Management API running in a child process.
type apiProcess struct {
	cmd  *exec.Cmd
	base string
}

func startAPIProcess(t *testing.T, taskDir string) *apiProcess {
	t.Helper()
	exe, err := os.Executable()
	must.NoError(t, err)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), serverModeEnv+"=1", serverTaskDirEnv+"="+taskDir, "GORACE=atexit_sleep_ms=0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	must.NoError(t, err)
	must.NoError(t, cmd.Start())
	p := &apiProcess{cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	must.NoError(t, err)
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "LISTEN ")
	must.True(t, ok, must.Sprintf("unexpected first line %q", line))
	p.base = "http://" + addr
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return p
}

// kill ends the process with SIGKILL, as a crash or `kill -9` does.
func (p *apiProcess) kill(t *testing.T) {
	t.Helper()
	must.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	_ = p.cmd.Wait()
}

// TestFault_PluginKilledDuringUpload kills the API's process with SIGKILL
// while a ZIP upload is half sent, starts a new one, and checks that the old
// content is intact, that no staging entry is visible through the API, and
// that the next upload succeeds and clears what the crash left on disk.
func TestFault_PluginKilledDuringUpload(t *testing.T) {
	oldFiles := map[string]string{"index.html": "<h1>old</h1>", "css/site.css": "body{color:red}", "img/logo.txt": strings.Repeat("logo", 1000)}
	taskDir := newTaskDir(t, t.TempDir(), "web", oldFiles)
	task := taskFor(1, taskDir)
	before := readTree(t, filepath.Join(taskDir, "local"))

	p := startAPIProcess(t, taskDir)
	// A large archive (incompressible enough to be several MB on the wire),
	// sent through a pipe so that it stops half way.
	big := map[string]string{"index.html": "<h1>new</h1>"}
	for i := range 64 {
		big[fmt.Sprintf("data/%02d.bin", i)] = randomText(64 << 10)
	}
	body := testkit.MakeZip(testkit.ZipFiles(big)...)
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPatch, taskURL(p.base, task, "/fs/local?clean=true"), pr)
	must.NoError(t, err)
	req.Header.Set("X-Api-Key", apiKey)
	req.Header.Set("Content-Type", "application/zip")
	req.ContentLength = int64(len(body))
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			err = fmt.Errorf("upload answered %s", resp.Status)
		}
		errc <- err
	}()
	half := len(body) / 2
	_, err = pw.Write(body[:half])
	must.NoError(t, err)
	// Wait until the server has spooled part of the body to disk.
	deadline := time.Now().Add(20 * time.Second)
	var spooled int64
	for time.Now().Before(deadline) && spooled == 0 {
		for _, e := range reservedEntries(t, taskDir) {
			if fi, err := os.Stat(e); err == nil && !fi.IsDir() {
				spooled = fi.Size()
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	must.Positive(t, spooled, must.Sprint("the upload spool appears on disk"))
	p.kill(t)
	_ = pw.CloseWithError(io.ErrClosedPipe)
	must.Error(t, <-errc, must.Sprint("the killed upload does not succeed"))
	leftovers := reservedEntries(t, taskDir)

	// Old content byte-identical after the crash.
	must.Eq(t, before, readTree(t, filepath.Join(taskDir, "local")))

	// A new process: the staging entry is invisible and unreachable.
	p2 := startAPIProcess(t, taskDir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, ls, err := do(ctx, http.DefaultClient, http.MethodGet, taskURL(p2.base, task, "/ls"), "", nil)
	must.NoError(t, err)
	must.Eq(t, http.StatusOK, code, must.Sprint(string(ls)))
	must.StrNotContains(t, strings.ToLower(string(ls)), ".nomad-iis")
	for _, l := range leftovers {
		rel, _ := filepath.Rel(taskDir, l)
		code, _, err := do(ctx, http.DefaultClient, http.MethodGet, taskURL(p2.base, task, "/fs/"+filepath.ToSlash(rel)), "", nil)
		must.NoError(t, err)
		must.Eq(t, http.StatusForbidden, code, must.Sprintf("staging entry %s is not reachable", rel))
	}
	code, zipBody, err := do(ctx, http.DefaultClient, http.MethodGet, taskURL(p2.base, task, "/fs/local"), "", nil)
	must.NoError(t, err)
	must.Eq(t, http.StatusOK, code)
	got, err := readZip(zipBody)
	must.NoError(t, err)
	must.Eq(t, before, got, must.Sprint("the folder download is the old content"))

	// The next upload succeeds and removes what the crash left behind.
	small := map[string]string{"index.html": "<h1>v3</h1>"}
	code, res, err := do(ctx, http.DefaultClient, http.MethodPatch, taskURL(p2.base, task, "/fs/local?clean=true"), "application/zip", strings.NewReader(string(testkit.MakeZip(testkit.ZipFiles(small)...))))
	must.NoError(t, err)
	must.Eq(t, http.StatusOK, code, must.Sprint(string(res)))
	must.Eq(t, small, readTree(t, filepath.Join(taskDir, "local")))
	must.SliceEmpty(t, reservedEntries(t, taskDir), must.Sprint("no staging entry left after the next upload"))
	figure(t, "plugin_kill_spooled_bytes=%d plugin_kill_leftovers_after_crash=%d plugin_kill_leftovers_after_next_upload=0", spooled, len(leftovers))
}

// randomText returns n bytes that deflate poorly.
func randomText(n int) string {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte('!' + x%90)
	}
	return string(b)
}
