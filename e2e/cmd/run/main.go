// Command run is `make run`: it starts a Nomad server and a client with the nomad_iis plugin
// (on iissim on Linux and macOS, on IIS on Windows), deploys the static sample
// app, prints where everything is and how to try the Management API, and stays
// in the foreground until Ctrl-C or SIGTERM, when it stops the job, the agents
// and everything they started.
//
// Environment: NOMAD_BIN (default build/nomad), NOMAD_IIS_PLUGIN (default
// build/nomad_iis), NOMAD_IIS_API_KEY (default: a generated key).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomad-iis/nomad-iis/e2e/launcher"
)

// Fixed addresses of the demo, as the README gives them.
const (
	nomadPort         = 4646
	managementAPIPort = 5004
	// portLabel, groupName and taskName are those of examples/static_sample_app.hcl.
	portLabel = "httplabel"
	taskName  = "app"
)

func main() {
	os.Exit(run())
}

func run() int {
	jobFile := flag.String("job", filepath.Join("examples", "static_sample_app.hcl"), "the job to deploy")
	stateDir := flag.String("state-dir", filepath.Join("build", "run"), "where the agents' logs and the sample upload go")
	flag.Parse()

	if err := os.MkdirAll(*stateDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		return 1
	}
	absState, _ := filepath.Abs(*stateDir)
	logPath := filepath.Join(absState, "cluster.log")
	_ = os.Remove(logPath)

	cfg := launcher.Config{
		NomadBin:          envOr("NOMAD_BIN", filepath.Join("build", exe("nomad"))),
		PluginBin:         envOr("NOMAD_IIS_PLUGIN", filepath.Join("build", exe("nomad_iis"))),
		HTTPPort:          nomadPort,
		RPCPort:           nomadPort + 1,
		SerfPort:          nomadPort + 2,
		ClientHTTPPort:    nomadPort + 3,
		ManagementAPIPort: managementAPIPort,
		ManagementAPIKey:  os.Getenv("NOMAD_IIS_API_KEY"),
		// Screenshots: the Makefile names the driver and the browser.
		PlaywrightDriverDir: os.Getenv("NOMAD_IIS_PLAYWRIGHT_DRIVER"),
		ScreenshotBrowser:   os.Getenv("NOMAD_IIS_BROWSER"),
		LogLevel:            "INFO",
		LogDir:              absState,
		Logger:              hclog.NewNullLogger(),
	}

	// The first Ctrl-C or SIGTERM stops everything in order; a second one
	// cuts the orderly part short.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-sigs
		cancel()
	}()
	watchParent(ctx, cancel)

	p := newProgress(os.Stdout)
	p.step("starting a Nomad server, and a client with the nomad_iis plugin")
	cluster, err := launcher.Start(ctx, cfg)
	if err != nil {
		p.done()
		fmt.Fprintln(os.Stderr, "run:", err)
		return 1
	}
	code := serve(ctx, p, cluster, *jobFile, absState)

	fmt.Println("\nstopping: the job, the agents and everything they started ...")
	stopCtx, stopCancel := context.WithCancel(context.Background())
	defer stopCancel()
	go func() {
		select {
		case <-sigs:
			fmt.Println("stopping now, without waiting")
			stopCancel()
		case <-stopCtx.Done():
		}
	}()
	if err := cluster.Stop(stopCtx); err != nil {
		fmt.Fprintln(os.Stderr, "run: stop:", err)
		code = 1
	}
	fmt.Println("stopped")
	return code
}

// serve deploys the job, prints the summary and waits for a signal or the
// end of an agent. It returns the exit code.
func serve(ctx context.Context, p *progress, cluster *launcher.Cluster, jobFile, stateDir string) int {
	p.step("deploying " + jobFile)
	job, err := cluster.RegisterJobFile(jobFile)
	if err != nil {
		p.done()
		fmt.Fprintln(os.Stderr, "run:", err)
		return 1
	}
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	alloc, err := cluster.WaitRunning(waitCtx, *job.ID)
	if err != nil {
		p.done()
		fmt.Fprintln(os.Stderr, "run:", err)
		return 1
	}
	port, err := launcher.AllocPort(alloc, portLabel)
	if err != nil {
		p.done()
		fmt.Fprintln(os.Stderr, "run:", err)
		return 1
	}
	site := fmt.Sprintf("http://127.0.0.1:%d/", port)
	p.step("waiting for " + site)
	if err := waitServing(waitCtx, site); err != nil {
		p.done()
		fmt.Fprintln(os.Stderr, "run:", err)
		return 1
	}
	upload := filepath.Join(stateDir, "static-sample-app-v2.zip")
	if err := writeSampleZip(upload); err != nil {
		p.done()
		fmt.Fprintln(os.Stderr, "run:", err)
		return 1
	}
	p.done()

	printSummary(os.Stdout, summary{
		Backend:     cluster.Backend(),
		Site:        site,
		NomadUI:     cluster.UIAddress(),
		NomadAddr:   cluster.Address(),
		NomadCLI:    cluster.NomadBin(),
		APIBase:     cluster.ManagementAPIAddress(),
		APIKey:      cluster.ManagementAPIKey(),
		KeyFromEnv:  os.Getenv("NOMAD_IIS_API_KEY") != "",
		AllocID:     alloc.ID,
		TaskName:    taskName,
		JobID:       *job.ID,
		UploadZip:   upload,
		ClientLog:   cluster.LogPath(),
		ServerLog:   cluster.ServerLogPath(),
		Windows:     runtime.GOOS == "windows",
		SourceBuilt: isSourceBuilt(cluster.NomadBin()),
		CLI:         filepath.Join("build", exe("nomad-iis")),
	})

	select {
	case <-ctx.Done():
		return 0
	case <-cluster.Exited():
		fmt.Fprintf(os.Stderr, "run: a Nomad agent exited; the end of the client's log:\n%s\n", cluster.LogTail(30))
		return 1
	}
}

// waitServing waits until the site answers 200.
func waitServing(ctx context.Context, url string) error {
	client := &http.Client{Timeout: 5 * time.Second}
	var last error
	for {
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s does not answer: %w", url, errors.Join(last, ctx.Err()))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// exe adds .exe to a binary's name on Windows.
func exe(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// isSourceBuilt reports whether the agent binary is the one `make nomad`
// builds from the module proxy, which has no web UI.
func isSourceBuilt(nomadBin string) bool {
	built, err1 := filepath.Abs(filepath.Join("build", exe("nomad")))
	bin, err2 := filepath.Abs(nomadBin)
	return err1 == nil && err2 == nil && built == bin
}
