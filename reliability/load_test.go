package reliability

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/api"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
)

// loadDuration is how long the load runs: LOAD_DURATION, default 20s.
func loadDuration(t *testing.T) time.Duration {
	if v := os.Getenv("LOAD_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		must.NoError(t, err)
		return d
	}
	return 20 * time.Second
}

// versions records, per task, every content the task's local/ folder may
// legitimately hold: the initial one and every upload that got 200.
type versions struct {
	// mu guards all, last and lastAt.
	mu     sync.Mutex
	all    []map[string]string // by version id
	last   []int               // per task: version id of the last 200
	lastAt []time.Time
}

func (v *versions) add(task int, files map[string]string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.all = append(v.all, files)
	return len(v.all) - 1
}

func (v *versions) committed(task, id int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.last[task], v.lastAt[task] = id, time.Now()
}

// matches reports whether files equals a version of task (uploaded before
// the check, whether it got 200 or not yet answered).
func (v *versions) matches(files map[string]string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, c := range v.all {
		if mapsEqual(c, files) {
			return true
		}
	}
	return false
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// counters counts responses by operation and status.
type counters struct {
	// mu guards m.
	mu sync.Mutex
	m  map[string]int
}

func (c *counters) inc(op string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[fmt.Sprintf("%s %d", op, status)]++
}

func (c *counters) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.m))
	for k := range c.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", strings.ReplaceAll(k, " ", "_"), c.m[k]))
	}
	return strings.Join(parts, " ")
}

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	must.NoError(t, err)
	return len(entries)
}

// settle waits until the goroutine count is at most want (or 10 s passed)
// and returns the last count.
func settle(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(10 * time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(100 * time.Millisecond)
	}
	return n
}

// TestLoad_UploadersDownloadersPollers runs 4 uploaders, 16 downloaders and
// 2 status pollers against 5 tasks on iissim through the API over TCP.
// Only 200 and the designed 409 (a deploy already running on the task) are
// allowed; every downloaded archive and file is one of the uploaded
// versions; afterwards goroutines and file descriptors are back to their
// baseline and each task holds its last successful upload.
func TestLoad_UploadersDownloadersPollers(t *testing.T) {
	const nTasks, nUploaders, nDownloaders, nPollers = 5, 4, 16, 2
	sim := simIIS(t)
	parent := t.TempDir()
	var tasks []api.Task
	vs := &versions{last: make([]int, nTasks), lastAt: make([]time.Time, nTasks)}
	for i := range nTasks {
		initial := map[string]string{"index.html": fmt.Sprintf("<h1>task %d initial</h1>", i), "css/site.css": "body{}"}
		dir := newTaskDir(t, parent, fmt.Sprintf("task%d", i), initial)
		task := taskFor(i+1, dir)
		createSite(t, sim.IIS, task)
		tasks = append(tasks, task)
		vs.last[i] = vs.add(i, initial)
	}
	base := startAPI(t, testkit.NewRegistry(tasks...), sim.IIS)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr, Timeout: time.Minute}

	// Baseline after setup and one warm-up request per route family.
	warm, cancelWarm := context.WithTimeout(context.Background(), time.Minute)
	for _, task := range tasks {
		code, _, err := do(warm, client, http.MethodGet, taskURL(base, task, "/status"), "", nil)
		must.NoError(t, err)
		must.Eq(t, http.StatusOK, code)
	}
	cancelWarm()
	tr.CloseIdleConnections()
	time.Sleep(300 * time.Millisecond)
	goroutinesBefore := runtime.NumGoroutine()
	fdsBefore := openFDs(t)

	dur := loadDuration(t)
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var (
		wg       sync.WaitGroup
		counts   = &counters{m: map[string]int{}}
		failures atomic.Int64
		errMu    sync.Mutex
		errs     []string
		bytesIn  atomic.Int64
	)
	fail := func(format string, args ...any) {
		failures.Add(1)
		errMu.Lock()
		defer errMu.Unlock()
		if len(errs) < 20 {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	var seq atomic.Int64
	for w := range nUploaders {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for ctx.Err() == nil {
				ti := rng.IntN(nTasks)
				task := tasks[ti]
				n := seq.Add(1)
				files := map[string]string{
					"index.html":   fmt.Sprintf("<h1>task %d version %d by uploader %d</h1>", ti, n, w),
					"css/site.css": fmt.Sprintf("body{order:%d}", n),
				}
				for k := range 1 + rng.IntN(4) {
					files[fmt.Sprintf("data/%d.txt", k)] = strings.Repeat(fmt.Sprintf("%d-%d;", n, k), 200+rng.IntN(2000))
				}
				id := vs.add(ti, files)
				method := http.MethodPut
				if rng.IntN(2) == 0 {
					method = http.MethodPatch
				}
				code, body, err := do(context.Background(), client, method, taskURL(base, task, "/fs/local?clean=true"), "application/zip", bytes.NewReader(testkit.MakeZip(testkit.ZipFiles(files)...)))
				if err != nil {
					fail("%s upload: %v", method, err)
					continue
				}
				counts.inc("upload", code)
				switch code {
				case http.StatusOK:
					vs.committed(ti, id)
				case http.StatusConflict:
				default:
					fail("%s upload: %d %s", method, code, body)
				}
			}
		})
	}
	for w := range nDownloaders {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for ctx.Err() == nil {
				task := tasks[rng.IntN(nTasks)]
				if rng.IntN(2) == 0 {
					code, body, err := do(context.Background(), client, http.MethodGet, taskURL(base, task, "/fs/local"), "", nil)
					if err != nil {
						fail("folder download: %v", err)
						continue
					}
					counts.inc("download_zip", code)
					bytesIn.Add(int64(len(body)))
					if code != http.StatusOK {
						fail("folder download: %d %s", code, body)
						continue
					}
					files, err := readZip(body)
					if err != nil {
						fail("folder download is not a valid zip: %v", err)
						continue
					}
					if !vs.matches(files) {
						fail("folder download of %s matches no uploaded version (%d files)", task.TaskName, len(files))
					}
					continue
				}
				code, body, err := do(context.Background(), client, http.MethodGet, taskURL(base, task, "/fs/local/index.html"), "", nil)
				if err != nil {
					fail("file download: %v", err)
					continue
				}
				counts.inc("download_file", code)
				bytesIn.Add(int64(len(body)))
				if code != http.StatusOK || !strings.HasPrefix(string(body), "<h1>task ") {
					fail("file download: %d %q", code, body)
				}
			}
		})
	}
	for w := range nPollers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for ctx.Err() == nil {
				task := tasks[rng.IntN(nTasks)]
				code, body, err := do(context.Background(), client, http.MethodGet, taskURL(base, task, "/status"), "", nil)
				if err != nil {
					fail("status: %v", err)
					continue
				}
				counts.inc("status", code)
				if code != http.StatusOK {
					fail("status: %d %s", code, body)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	t.Logf("responses: %s", counts)
	for _, e := range errs {
		t.Errorf("load: %s", e)
	}
	must.Zero(t, failures.Load())

	// Content: each task holds its last successful upload, with no staging
	// entry left anywhere.
	for i, task := range tasks {
		vs.mu.Lock()
		want := vs.all[vs.last[i]]
		vs.mu.Unlock()
		must.Eq(t, want, readTree(t, filepath.Join(task.TaskDir, "local")), must.Sprintf("task %d holds its last successful upload", i))
		must.SliceEmpty(t, reservedEntries(t, task.TaskDir))
	}

	tr.CloseIdleConnections()
	goroutinesAfter := settle(goroutinesBefore + 2)
	fdsAfter := openFDs(t)
	for deadline := time.Now().Add(5 * time.Second); fdsAfter > fdsBefore+2 && time.Now().Before(deadline); fdsAfter = openFDs(t) {
		time.Sleep(100 * time.Millisecond)
	}
	figure(t, "load_duration_s=%.0f load_tasks=%d load_uploaders=%d load_downloaders=%d load_pollers=%d load_failures=%d load_bytes_downloaded=%d %s",
		dur.Seconds(), nTasks, nUploaders, nDownloaders, nPollers, failures.Load(), bytesIn.Load(), counts)
	figure(t, "goroutines_before=%d goroutines_after=%d fds_before=%d fds_after=%d", goroutinesBefore, goroutinesAfter, fdsBefore, fdsAfter)
	must.LessEq(t, goroutinesBefore+2, goroutinesAfter, must.Sprint("goroutines back to baseline"))
	must.LessEq(t, fdsBefore+2, fdsAfter, must.Sprint("file descriptors back to baseline"))
}
