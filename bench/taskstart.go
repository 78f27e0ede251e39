package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/helper/pluginutils/hclspecutils"
	"github.com/hashicorp/nomad/helper/pluginutils/hclutils"
	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"

	"github.com/zclconf/go-cty/cty"

	"github.com/nomad-iis/nomad-iis/driver"
	"github.com/nomad-iis/nomad-iis/iissim"
)

// TaskStartResult is what the "taskstart" mode reports on stdout.
type TaskStartResult struct {
	// Sequential are StartTask-to-first-200 times of tasks started one
	// after the other.
	Sequential []time.Duration `json:"sequential"`
	// Concurrent is how many tasks were started at once, and ConcurrentTotal
	// the time until every one of them answered 200.
	Concurrent      int           `json:"concurrent"`
	ConcurrentTotal time.Duration `json:"concurrentTotal"`
	// BaseRSS is the process's resident size with the driver configured
	// and no task; RSS with every concurrent task running; PeakRSS its
	// high-water mark over the whole run.
	BaseRSS int64 `json:"baseRss"`
	RSS     int64 `json:"rss"`
	PeakRSS int64 `json:"peakRss"`
}

// TaskStartMain is the "taskstart" mode of the benchreport binary: the
// driver, in a process of its own as Nomad runs it, starts tasks on iissim;
// the result is written to stdout as JSON. self runs iissim.
func TaskStartMain(self []string, args []string) int {
	fs := flag.NewFlagSet("taskstart", flag.ContinueOnError)
	stateDir := fs.String("state-dir", "", "iissim state directory")
	workDir := fs.String("work-dir", "", "where allocation directories are made")
	seq := fs.Int("sequential", 20, "tasks started one after the other")
	conc := fs.Int("concurrent", 50, "tasks started at once")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	defer iissim.Main(self, []string{"stop", "--state-dir", *stateDir})
	res, err := runTaskStarts(self, *stateDir, *workDir, *seq, *conc)
	if err != nil {
		fmt.Fprintf(os.Stderr, "taskstart: %v\n", err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return 1
	}
	return 0
}

// benchTask is one task of the benchmark.
type benchTask struct {
	cfg  *drivers.TaskConfig
	port int
}

func runTaskStarts(self []string, stateDir, workDir string, seq, conc int) (*TaskStartResult, error) {
	d := driver.New(hclog.NewNullLogger(), driver.Options{SimSelf: self})
	defer d.Shutdown()
	dc := driver.DriverConfig{
		Enabled: true, FingerprintInterval: "30s", DirectorySecurity: true,
		AllowedAppPoolIdentities: []string{"ApplicationPoolIdentity"},
		Backend:                  driver.BackendIISSim, IISSimStateDir: stateDir, CallTimeout: "2m",
	}
	var raw []byte
	if err := base.MsgPackEncode(&raw, &dc); err != nil {
		return nil, err
	}
	if err := d.SetConfig(&base.Config{PluginConfig: raw}); err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	schema, err := d.TaskConfigSchema()
	if err != nil {
		return nil, err
	}
	spec, diags := hclspecutils.Convert(schema)
	if diags.HasErrors() {
		return nil, fmt.Errorf("task config spec: %s", diags.Error())
	}
	// The job file's config block, as the jobspec parser hands it over.
	block := map[string]any{
		"application": []any{map[string]any{"path": "local"}},
		"binding":     []any{map[string]any{"type": "http", "port": "http", "ip_address": "127.0.0.1"}},
	}
	val, diags, errs := hclutils.ParseHclInterface(block, spec, nil)
	if diags.HasErrors() || len(errs) > 0 {
		return nil, fmt.Errorf("task config: %v %v", diags, errs)
	}

	res := &TaskStartResult{Concurrent: conc}
	// A first task outside the measurement starts iissim's service.
	ports, err := freePorts(1 + seq + conc)
	if err != nil {
		return nil, err
	}
	warm, err := newBenchTask(workDir, "warm", ports[0], val)
	if err != nil {
		return nil, err
	}
	if _, err := startAndWait(d, warm); err != nil {
		return nil, err
	}
	stopTask(d, warm)
	if res.BaseRSS, err = procStatusBytes(os.Getpid(), "VmRSS:"); err != nil {
		return nil, err
	}
	for i := range seq {
		tt, err := newBenchTask(workDir, fmt.Sprintf("seq%02d", i), ports[1+i], val)
		if err != nil {
			return nil, err
		}
		dt, err := startAndWait(d, tt)
		if err != nil {
			return nil, err
		}
		res.Sequential = append(res.Sequential, dt)
		stopTask(d, tt)
	}

	tasks := make([]*benchTask, conc)
	for i := range tasks {
		if tasks[i], err = newBenchTask(workDir, fmt.Sprintf("conc%02d", i), ports[1+seq+i], val); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, conc)
	for _, tt := range tasks {
		wg.Go(func() {
			if _, err := startAndWait(d, tt); err != nil {
				errc <- err
			}
		})
	}
	wg.Wait()
	res.ConcurrentTotal = time.Since(start)
	close(errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	if res.RSS, err = procStatusBytes(os.Getpid(), "VmRSS:"); err != nil {
		return nil, err
	}
	if res.PeakRSS, err = procStatusBytes(os.Getpid(), "VmHWM:"); err != nil {
		return nil, err
	}
	for _, tt := range tasks {
		stopTask(d, tt)
	}
	return res, nil
}

// freePorts returns n distinct ports nobody listens on at the moment: all
// are held open until every one is found.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// newBenchTask makes an allocation directory as Nomad's client does (task
// directory with local/, log FIFOs that something reads) and the task's
// configuration with an "http" port.
func newBenchTask(workDir, name string, port int, val cty.Value) (*benchTask, error) {
	allocID := uuid.Generate()
	allocDir := filepath.Join(workDir, allocID)
	taskDir := filepath.Join(allocDir, name)
	logDir := filepath.Join(allocDir, "alloc", "logs")
	for _, dir := range []string{filepath.Join(taskDir, "local"), filepath.Join(taskDir, "secrets"), filepath.Join(taskDir, "private"), logDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(taskDir, "local", "index.html"), []byte("<h1>hello</h1>"), 0o644); err != nil {
		return nil, err
	}
	ports := structs.AllocatedPorts{{Label: "http", Value: port, HostIP: "127.0.0.1"}}
	cfg := &drivers.TaskConfig{
		ID: allocID + "/" + name, AllocID: allocID, Name: name, JobName: "bench", JobID: "bench", Namespace: "default",
		Env:      map[string]string{},
		AllocDir: allocDir,
		Resources: &drivers.Resources{
			NomadResources: &structs.AllocatedTaskResources{
				Cpu:    structs.AllocatedCpuResources{CpuShares: 100},
				Memory: structs.AllocatedMemoryResources{MemoryMB: 64},
			},
			Ports: &ports,
		},
		StdoutPath: filepath.Join(logDir, "."+name+".stdout.fifo"),
		StderrPath: filepath.Join(logDir, "."+name+".stderr.fifo"),
	}
	for _, p := range []string{cfg.StdoutPath, cfg.StderrPath} {
		if err := mkfifo(p); err != nil {
			return nil, fmt.Errorf("log pipe: %w", err)
		}
		go drainFIFO(p)
	}
	if err := cfg.EncodeDriverConfig(val); err != nil {
		return nil, err
	}
	return &benchTask{cfg: cfg, port: port}, nil
}

// drainFIFO reads a log pipe as Nomad's logmon does; it ends when the
// driver closes its end, or with the process.
func drainFIFO(path string) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = io.Copy(io.Discard, f)
}

var pollClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// startAndWait starts tt and returns the time until its site answered 200.
func startAndWait(d *driver.Driver, tt *benchTask) (time.Duration, error) {
	start := time.Now()
	if _, _, err := d.StartTask(tt.cfg); err != nil {
		return 0, fmt.Errorf("start %s: %w", tt.cfg.Name, err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", tt.port)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := pollClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("%s: no 200 from %s within a minute (last error %v)", tt.cfg.Name, url, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func stopTask(d *driver.Driver, tt *benchTask) {
	_ = d.StopTask(tt.cfg.ID, 10*time.Second, "")
	_ = d.DestroyTask(tt.cfg.ID, true)
}
