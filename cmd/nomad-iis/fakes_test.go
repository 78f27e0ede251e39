package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
)

// fakeNomad serves the few Nomad API routes the command reads: a job, its
// allocations, the allocations and their nodes.
type fakeNomad struct {
	srv    *httptest.Server
	mu     sync.Mutex
	jobs   map[string]*nomad.Job
	allocs []*nomad.Allocation
	nodes  map[string]*nomad.Node
	// queries records each request's path and query.
	queries []string
}

func newFakeNomad(t *testing.T) *fakeNomad {
	f := &fakeNomad{jobs: map[string]*nomad.Job{}, nodes: map[string]*nomad.Node{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeNomad) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, r.URL.Path+"?"+r.URL.RawQuery)
	p := strings.TrimPrefix(r.URL.Path, "/v1/")
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	switch {
	case strings.HasPrefix(p, "job/") && strings.HasSuffix(p, "/allocations"):
		id := strings.TrimSuffix(strings.TrimPrefix(p, "job/"), "/allocations")
		stubs := []*nomad.AllocationListStub{}
		for _, a := range f.allocs {
			if a.JobID == id {
				stubs = append(stubs, stub(a))
			}
		}
		reply(stubs)
	case strings.HasPrefix(p, "job/"):
		j, ok := f.jobs[strings.TrimPrefix(p, "job/")]
		if !ok {
			http.Error(w, "job not found", http.StatusNotFound)
			return
		}
		reply(j)
	case p == "allocations":
		stubs := []*nomad.AllocationListStub{}
		for _, a := range f.allocs {
			if strings.HasPrefix(a.ID, r.URL.Query().Get("prefix")) {
				stubs = append(stubs, stub(a))
			}
		}
		reply(stubs)
	case strings.HasPrefix(p, "allocation/"):
		for _, a := range f.allocs {
			if a.ID == strings.TrimPrefix(p, "allocation/") {
				reply(a)
				return
			}
		}
		http.Error(w, "alloc not found", http.StatusNotFound)
	case strings.HasPrefix(p, "node/"):
		n, ok := f.nodes[strings.TrimPrefix(p, "node/")]
		if !ok {
			http.Error(w, "node not found", http.StatusNotFound)
			return
		}
		reply(n)
	default:
		http.Error(w, "no route", http.StatusNotFound)
	}
}

func (f *fakeNomad) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries...)
}

func stub(a *nomad.Allocation) *nomad.AllocationListStub {
	return &nomad.AllocationListStub{ID: a.ID, JobID: a.JobID, TaskGroup: a.TaskGroup, NodeID: a.NodeID,
		NodeName: a.NodeName, ClientStatus: a.ClientStatus, Namespace: a.Namespace}
}

// addJob adds a job of one group "app" with the iis task "web" (a binding
// on port label "http") and a sidecar task of another driver.
func (f *fakeNomad) addJob(name string) *nomad.Job {
	j := &nomad.Job{ID: &name, Name: &name, TaskGroups: []*nomad.TaskGroup{{
		Name: ptr("app"),
		Tasks: []*nomad.Task{
			{Name: "web", Driver: "iis", Config: map[string]any{
				"application": []any{map[string]any{"path": "local"}},
				"binding":     []any{map[string]any{"type": "http", "port": "http"}},
			}},
			{Name: "logs", Driver: "raw_exec"},
		},
	}}}
	f.mu.Lock()
	f.jobs[name] = j
	f.mu.Unlock()
	return j
}

// addNode adds a node whose Management API is apiURL ("" for none).
func (f *fakeNomad) addNode(t *testing.T, id, name, apiURL string) {
	n := &nomad.Node{ID: id, Name: name, HTTPAddr: "127.0.0.1:4646", Attributes: map[string]string{"driver.iis": "true"}}
	if apiURL != "" {
		u, err := url.Parse(apiURL)
		must.NoError(t, err)
		host, port, _ := net.SplitHostPort(u.Host)
		n.Attributes[attrAPIPort] = port
		n.Attributes[attrAPIScheme] = u.Scheme
		n.Attributes[attrAPIBind] = host
	} else {
		n.Attributes[attrAPIPort] = "0"
	}
	f.mu.Lock()
	f.nodes[id] = n
	f.mu.Unlock()
}

// addAlloc adds a running allocation of job on node, with port label
// "http" at sitePort.
func (f *fakeNomad) addAlloc(j *nomad.Job, id, nodeID string, sitePort int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.allocs = append(f.allocs, &nomad.Allocation{ID: id, Namespace: "default", JobID: *j.ID, Job: j, TaskGroup: "app",
		NodeID: nodeID, NodeName: f.nodes[nodeID].Name, ClientStatus: nomad.AllocClientStatusRunning,
		AllocatedResources: &nomad.AllocatedResources{Shared: nomad.AllocatedSharedResources{
			Ports: []nomad.PortMapping{{Label: "http", Value: sitePort, HostIP: "127.0.0.1"}}}}})
}

func ptr[T any](v T) *T { return &v }

// fakeAPI is one node's Management API: it records requests and answers
// what the handlers say.
type fakeAPI struct {
	srv *httptest.Server
	mu  sync.Mutex
	// requests are "METHOD path?query auth".
	requests []string
	// bodies of uploads.
	bodies [][]byte
	// statusCalls counts GET …/status.
	statusCalls int
	// handle, when set, answers before the defaults (return true when done).
	handle func(w http.ResponseWriter, r *http.Request) bool
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	auth := r.Header.Get("X-Api-Key")
	if a := r.Header.Get("Authorization"); a != "" {
		auth = a
	}
	f.requests = append(f.requests, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery+" "+auth)
	if r.Method == http.MethodPut || r.Method == http.MethodPatch {
		f.bodies = append(f.bodies, body)
	}
	handle := f.handle
	f.mu.Unlock()
	if handle != nil && handle(w, r) {
		return
	}
	parts := strings.Split(r.URL.Path, "/") // "", api, v1, allocs, id, task, op...
	if len(parts) < 7 {
		writeProblem(w, 404, "", "no route")
		return
	}
	alloc, task, op := parts[4], parts[5], parts[6]
	switch {
	case op == "status":
		f.mu.Lock()
		f.statusCalls++
		n := f.statusCalls
		f.mu.Unlock()
		state, workers := "Started", []any{map[string]any{"processId": 4242 + n, "state": "Running", "memoryBytes": 52428800, "cpuPercent": 0.5}}
		if n == 1 {
			state, workers = "Starting", []any{}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"allocId": alloc, "taskName": task, "namespace": "default", "jobName": "shop",
			"applicationPools": []any{map[string]any{"name": "default", "iisName": "nomad-" + alloc + "-" + task, "status": state, "workerProcesses": workers}}})
	case op == "fs" && (r.Method == http.MethodPut || r.Method == http.MethodPatch):
		stopped := []string{"default"}
		if r.Method == http.MethodPatch {
			stopped = []string{}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"path": strings.Join(parts[7:], "/"), "kind": "zip", "files": 3, "folders": 1,
			"bytes": 2048, "stoppedApplicationPools": stopped})
	case op == "fs" && r.Method == http.MethodGet:
		w.Header().Set("Content-Disposition", `attachment; filename="`+parts[len(parts)-1]+`"`)
		w.Header().Set("Content-Length", "11")
		_, _ = io.WriteString(w, "hello "+alloc[:5])
	case op == "deploy" && r.Method == http.MethodPut:
		_ = json.NewEncoder(w).Encode(fakeDeployAnswer(r, len(parts) > 7 && parts[7] == "rollback"))
	case op == "recycle" || op == "start" || op == "stop":
		_ = json.NewEncoder(w).Encode(map[string]any{"allocId": alloc, "taskName": task, "operation": op,
			"applicationPools": []any{map[string]any{"name": "default", "status": "Started"}}})
	default:
		writeProblem(w, 404, "", "no route "+r.URL.Path)
	}
}

// fakeDeployAnswer is the answer of PUT …/deploy (version v2 of the
// application ?app=) or of …/deploy/rollback (to ?version=, default v1).
func fakeDeployAnswer(r *http.Request, rollback bool) map[string]any {
	q := r.URL.Query()
	app := "/" + q.Get("app")
	res := map[string]any{"application": app, "virtualDirectory": "/", "applicationPool": "nomad-pool", "mode": "Overlapped"}
	if q.Get("warmup") != "" {
		res["warmupStatus"] = 200
	}
	if rollback {
		v := q.Get("version")
		if v == "" {
			v = "v1"
		}
		res["version"] = map[string]any{"id": v, "createdAt": "2026-12-03T10:00:00Z", "bytes": 1024, "files": 2, "path": "local/.site.versions/" + v}
		res["previousVersion"], res["keptVersions"], res["removedVersions"] = "v2", []string{"initial", "v1", "v2"}, []string{}
		return res
	}
	res["version"] = map[string]any{"id": "v2", "createdAt": "2026-12-03T10:20:11Z", "bytes": 2048, "files": 3, "path": "local/.site.versions/v2"}
	res["previousVersion"], res["keptVersions"], res["removedVersions"] = "v1", []string{"initial", "v1", "v2"}, []string{"v0"}
	return res
}

func (f *fakeAPI) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func writeProblem(w http.ResponseWriter, status int, retryAfter, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail})
}

// Two allocations of job "shop" on two nodes, each with its API.
const (
	alloc1 = "aaaa1111-0000-0000-0000-000000000001"
	alloc2 = "bbbb2222-0000-0000-0000-000000000002"
)

type cluster struct {
	nomad      *fakeNomad
	api1, api2 *fakeAPI
}

func newCluster(t *testing.T) *cluster {
	c := &cluster{nomad: newFakeNomad(t), api1: newFakeAPI(t), api2: newFakeAPI(t)}
	j := c.nomad.addJob("shop")
	c.nomad.addNode(t, "n1", "node1", c.api1.srv.URL)
	c.nomad.addNode(t, "n2", "node2", c.api2.srv.URL)
	c.nomad.addAlloc(j, alloc1, "n1", testkit.FreePort(t))
	c.nomad.addAlloc(j, alloc2, "n2", testkit.FreePort(t))
	return c
}

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command with env as its whole environment.
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, environment{
		getenv: func(k string) string { return env[k] },
		stdout: &stdout, stderr: &stderr,
	})
	t.Logf("nomad-iis %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func (c *cluster) env(extra ...string) map[string]string {
	env := map[string]string{"NOMAD_ADDR": c.nomad.srv.URL, envAPIKey: "secret-key-1"}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}
