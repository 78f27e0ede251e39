package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomad-iis/nomad-iis/api"
	"github.com/nomad-iis/nomad-iis/iissim"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
)

// APIKey is the key the benchmark server accepts.
const APIKey = "bench-key-0123456789"

// Task identity of the benchmark server's one task.
const (
	BenchAlloc = "8b4e4c4a-0000-4000-8000-00000000bench"
	BenchTask  = "web"
)

// ServerReady is the first line the server process writes on stdout.
type ServerReady struct {
	Addr     string `json:"addr"`
	SitePort int    `json:"sitePort"`
	PID      int    `json:"pid"`
}

// ServerStats answers the "stats" command on the server's stdin.
type ServerStats struct {
	// PoolReads counts GetAppPools calls into the backend since the last
	// "stats".
	PoolReads int64 `json:"poolReads"`
}

// countingIIS counts the pool reads the API makes, to show that status
// answers from its cache.
type countingIIS struct {
	*ps.IIS
	poolReads atomic.Int64
}

func (c *countingIIS) GetAppPools(ctx context.Context, names ...string) ([]ps.AppPool, error) {
	c.poolReads.Add(1)
	return c.IIS.GetAppPools(ctx, names...)
}

// ServeMain is the "serve-api" mode of the benchreport binary: the
// Management API with one task on iissim, as the plugin serves it. self
// runs iissim ("<exe> iissim"). It writes a ServerReady line, answers
// "stats" lines on stdin and stops when stdin closes.
func ServeMain(self []string, args []string) int {
	fs := flag.NewFlagSet("serve-api", flag.ContinueOnError)
	stateDir := fs.String("state-dir", "", "iissim state directory")
	taskDir := fs.String("task-dir", "", "the task directory")
	driverDir := fs.String("playwright-driver", "", "Playwright driver directory")
	browser := fs.String("browser", "", "Chromium executable")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "serve-api: %v\n", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "serve-api: %v\n", err)
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	if err := serve(self, *stateDir, *taskDir, *driverDir, *browser); err != nil {
		fmt.Fprintf(os.Stderr, "serve-api: %v\n", err)
		return 1
	}
	return 0
}

func serve(self []string, stateDir, taskDir, driverDir, browser string) error {
	path, args := ps.SimCommand(self, stateDir, "")
	host := ps.NewHost(ps.HostConfig{Path: path, Args: args, Logger: hclog.NewNullLogger()})
	defer func() {
		_ = host.Close()
		_ = iissim.Main(self, []string{"stop", "--state-dir", stateDir})
	}()
	iis := &countingIIS{IIS: ps.NewIIS(host)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	port := ports[0]
	site := "nomad-" + BenchAlloc + "-" + BenchTask
	spec := &ps.TaskSiteSpec{
		SiteName:     site,
		AppPools:     []ps.AppPoolSpec{{Name: site, Identity: "ApplicationPoolIdentity", StartMode: "AlwaysRunning"}},
		Applications: []ps.ApplicationSpec{{PhysicalPath: filepath.Join(taskDir, "local"), AppPool: site}},
		Bindings:     []ps.BindingSpec{{Protocol: "http", IPAddress: "*", Port: port}},
	}
	if _, err := iis.NewTaskSite(ctx, spec); err != nil {
		return fmt.Errorf("create the task site: %w", err)
	}
	task := api.Task{TaskID: BenchAlloc + "/" + BenchTask, AllocID: BenchAlloc, TaskName: BenchTask, Namespace: "default",
		JobID: "bench", JobName: "bench", TaskDir: taskDir, SiteName: site, OwnsSite: true,
		AppPools: map[string]string{"default": site}, DefaultAppPool: "default", Bindings: spec.Bindings, StartedAt: time.Now()}
	cfg := api.Config{APIKeys: []string{APIKey}, PlaywrightDriverDir: driverDir, ScreenshotBrowserPath: browser,
		MaxUploadBytes: 4 << 30}
	srv, err := api.New(cfg, testkit.NewRegistry(task), iis, hclog.NewNullLogger())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(ServerReady{Addr: ln.Addr().String(), SitePort: port, PID: os.Getpid()}); err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if strings.TrimSpace(in.Text()) == "stats" {
			_ = out.Encode(ServerStats{PoolReads: iis.poolReads.Swap(0)})
		}
	}
	_ = srv.Close()
	if err := <-done; err != nil {
		return err
	}
	rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
	defer rcancel()
	_, _ = iis.RemoveTaskSite(rctx, &ps.RemoveTaskSiteArgs{SiteName: site, AppPools: []string{site}})
	return nil
}

// Server is a running "serve-api" child process.
type Server struct {
	ServerReady
	TaskDir string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  *json.Decoder
}

// StartServer starts the API in a child process (exe serve-api …).
func StartServer(exe, stateDir, taskDir, driverDir, browser string) (*Server, error) {
	args := []string{"serve-api", "--state-dir", stateDir, "--task-dir", taskDir, "--playwright-driver", driverDir, "--browser", browser}
	if p := os.Getenv("BENCH_SERVER_CPUPROFILE"); p != "" {
		args = append(args, "--cpuprofile", p)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the API server: %w", err)
	}
	s := &Server{TaskDir: taskDir, cmd: cmd, stdin: stdin, stdout: json.NewDecoder(stdout)}
	if err := s.stdout.Decode(&s.ServerReady); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("the API server did not start: %w", err)
	}
	return s, nil
}

// URL is the API URL of the task route suffix (such as "/status").
func (s *Server) URL(suffix string) string {
	return "http://" + s.Addr + "/api/v1/allocs/" + BenchAlloc + "/" + BenchTask + suffix
}

// Stats asks the server for its counters (and resets them).
func (s *Server) Stats() (ServerStats, error) {
	var st ServerStats
	if _, err := io.WriteString(s.stdin, "stats\n"); err != nil {
		return st, err
	}
	return st, s.stdout.Decode(&st)
}

// ResetPeakRSS clears the server's peak resident set size (VmHWM).
func (s *Server) ResetPeakRSS() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.PID), []byte("5"), 0o200)
}

// PeakRSS is the server's VmHWM in bytes.
func (s *Server) PeakRSS() (int64, error) { return procStatusBytes(s.PID, "VmHWM:") }

// RSS is the server's VmRSS in bytes.
func (s *Server) RSS() (int64, error) { return procStatusBytes(s.PID, "VmRSS:") }

func procStatusBytes(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New(key + " not in /proc/" + fmt.Sprint(pid) + "/status")
}

// Stop closes the server's stdin and waits for it to exit.
func (s *Server) Stop() error {
	_ = s.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		return errors.New("the API server did not stop within 30 s; killed")
	}
}
