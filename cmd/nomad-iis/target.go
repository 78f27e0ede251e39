package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nomad-iis/nomad-iis/api/client"
)

// The node attributes the plugin publishes for clients of its Management API.
const (
	attrAPIPort   = "driver.iis.management_api_port"
	attrAPIScheme = "driver.iis.management_api_scheme"
	attrAPIBind   = "driver.iis.management_api_bind"
)

// driverName is the task driver's name in job files.
const driverName = "iis"

// target is one task of one running allocation, with its node's API.
type target struct {
	AllocID  string `json:"allocId"`
	Task     string `json:"taskName"`
	Group    string `json:"taskGroup,omitempty"`
	JobID    string `json:"jobId,omitempty"`
	NodeName string `json:"node,omitempty"`
	// APIURL is the node's Management API; "" with apiErr set when the node
	// has none.
	APIURL string `json:"-"`
	apiErr error
	// alloc is the allocation (nil with --api-addr).
	alloc *nomad.Allocation
	// nodeHost is the node's address, for its sites' bindings.
	nodeHost string
}

// short is the allocation's short ID, as the nomad CLI prints it.
func (t *target) short() string {
	if len(t.AllocID) > 8 {
		return t.AllocID[:8]
	}
	return t.AllocID
}

// label prefixes the result line of t.
func (t *target) label() string {
	s := t.short()
	if t.NodeName != "" {
		s += " " + t.NodeName
	}
	return s + " " + t.Task
}

func (t *target) clientTask() client.Task { return client.Task{AllocID: t.AllocID, TaskName: t.Task} }

// targets finds what the command acts on: --alloc, or every running
// allocation of --job (and --group), with the iis task to act on.
func (a *app) targets(ctx context.Context) ([]*target, error) {
	g := a.g
	if _, _, err := a.credentials(); err != nil {
		return nil, err
	}
	switch {
	case g.job == "" && g.alloc == "":
		return nil, usagef("say which allocations: --job NAME [--group G] [--task T], or --alloc ID")
	case g.job != "" && g.alloc != "":
		return nil, usagef("--job and --alloc exclude each other")
	case g.apiAddr != "":
		if g.alloc == "" || g.task == "" {
			return nil, usagef("--api-addr needs --alloc (the full ID) and --task, since Nomad is not asked")
		}
		if _, err := url.Parse(g.apiAddr); err != nil || !strings.HasPrefix(g.apiAddr, "http") {
			return nil, usagef("--api-addr: %q is not an http:// or https:// URL", g.apiAddr)
		}
		return []*target{{AllocID: g.alloc, Task: g.task, APIURL: g.apiAddr}}, nil
	}
	if g.parallel < 1 {
		return nil, usagef("--parallel: %d; it must be 1 or more", g.parallel)
	}
	nc, err := a.nomadClient()
	if err != nil {
		return nil, err
	}
	q := (&nomad.QueryOptions{Namespace: a.namespace(), Region: a.g.region}).WithContext(ctx)
	var allocs []*nomad.Allocation
	if g.alloc != "" {
		al, err := findAlloc(nc, g.alloc, q)
		if err != nil {
			return nil, err
		}
		if al.ClientStatus != nomad.AllocClientStatusRunning {
			return nil, notFoundf("allocation %s is %s, not running", al.ID, al.ClientStatus)
		}
		allocs = []*nomad.Allocation{al}
	} else {
		allocs, err = jobAllocs(nc, g.job, g.group, q)
		if err != nil {
			return nil, err
		}
	}
	nodes := &nodeCache{nc: nc, q: q, m: map[string]*nodeAPI{}}
	var out []*target
	for _, al := range allocs {
		task, err := iisTask(al, g.task)
		if err != nil {
			return nil, err
		}
		t := &target{AllocID: al.ID, Task: task, Group: al.TaskGroup, JobID: al.JobID, NodeName: al.NodeName, alloc: al}
		n, err := nodes.get(al.NodeID)
		if err != nil {
			return nil, err
		}
		t.APIURL, t.apiErr, t.nodeHost = n.url, n.err, n.host
		if t.NodeName == "" {
			t.NodeName = n.name
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(x, y *target) int {
		return strings.Compare(x.NodeName+"/"+x.AllocID, y.NodeName+"/"+y.AllocID)
	})
	return out, nil
}

// findAlloc finds an allocation by ID or unique prefix.
func findAlloc(nc *nomad.Client, id string, q *nomad.QueryOptions) (*nomad.Allocation, error) {
	if len(id) < 36 {
		stubs, _, err := nc.Allocations().List(withPrefix(q, id))
		if err != nil {
			return nil, nomadError("list allocations", err)
		}
		switch len(stubs) {
		case 0:
			return nil, notFoundf("no allocation %s in namespace %s", id, q.Namespace)
		case 1:
			id = stubs[0].ID
		default:
			ids := make([]string, 0, len(stubs))
			for _, s := range stubs {
				ids = append(ids, s.ID)
			}
			return nil, usagef("--alloc %s matches %d allocations (%s); give more of its ID", id, len(stubs), strings.Join(ids, ", "))
		}
	}
	al, _, err := nc.Allocations().Info(id, q)
	if err != nil {
		if isNomadNotFound(err) {
			return nil, notFoundf("no allocation %s", id)
		}
		return nil, nomadError("allocation "+id, err)
	}
	return al, nil
}

func withPrefix(q *nomad.QueryOptions, prefix string) *nomad.QueryOptions {
	c := *q
	c.Prefix = prefix
	return &c
}

// jobAllocs returns the running allocations of job (of group, when set).
func jobAllocs(nc *nomad.Client, job, group string, q *nomad.QueryOptions) ([]*nomad.Allocation, error) {
	j, _, err := nc.Jobs().Info(job, q)
	if err != nil {
		if isNomadNotFound(err) {
			return nil, notFoundf("no job %s in namespace %s", job, nsOf(q))
		}
		return nil, nomadError("job "+job, err)
	}
	if group != "" && !slices.ContainsFunc(j.TaskGroups, func(tg *nomad.TaskGroup) bool { return tg.Name != nil && *tg.Name == group }) {
		return nil, notFoundf("job %s has no group %s (groups: %s)", job, group, strings.Join(groupNames(j), ", "))
	}
	stubs, _, err := nc.Jobs().Allocations(job, false, q)
	if err != nil {
		return nil, nomadError("allocations of job "+job, err)
	}
	var out []*nomad.Allocation
	for _, s := range stubs {
		if s.ClientStatus != nomad.AllocClientStatusRunning || (group != "" && s.TaskGroup != group) {
			continue
		}
		al, _, err := nc.Allocations().Info(s.ID, q)
		if err != nil {
			return nil, nomadError("allocation "+s.ID, err)
		}
		out = append(out, al)
	}
	if len(out) == 0 {
		where := "job " + job
		if group != "" {
			where += " group " + group
		}
		return nil, notFoundf("%s has no running allocation", where)
	}
	return out, nil
}

func nsOf(q *nomad.QueryOptions) string {
	if q.Namespace == "" {
		return "default"
	}
	return q.Namespace
}

func groupNames(j *nomad.Job) []string {
	var out []string
	for _, tg := range j.TaskGroups {
		if tg.Name != nil {
			out = append(out, *tg.Name)
		}
	}
	return out
}

// iisTask picks the task of al to act on: want, which must be an iis task
// of its group, or the group's only iis task.
func iisTask(al *nomad.Allocation, want string) (string, error) {
	tg := groupOf(al)
	if tg == nil {
		return "", fmt.Errorf("allocation %s: its job has no group %s", al.ID, al.TaskGroup)
	}
	var iis []string
	for _, t := range tg.Tasks {
		if t.Driver == driverName {
			iis = append(iis, t.Name)
		}
	}
	switch {
	case want != "" && slices.Contains(iis, want):
		return want, nil
	case want != "":
		return "", notFoundf("group %s of job %s has no iis task %s (iis tasks: %s)", al.TaskGroup, al.JobID, want, listOrNone(iis))
	case len(iis) == 1:
		return iis[0], nil
	case len(iis) == 0:
		return "", notFoundf("group %s of job %s has no task with driver %q", al.TaskGroup, al.JobID, driverName)
	}
	return "", usagef("group %s of job %s has several iis tasks (%s); choose one with --task", al.TaskGroup, al.JobID, strings.Join(iis, ", "))
}

func groupOf(al *nomad.Allocation) *nomad.TaskGroup {
	if al.Job == nil {
		return nil
	}
	for _, tg := range al.Job.TaskGroups {
		if tg.Name != nil && *tg.Name == al.TaskGroup {
			return tg
		}
	}
	return nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// nodeAPI is a node's Management API address, or why it has none.
type nodeAPI struct {
	name, host, url string
	err             error
}

// nodeCache looks each node up once.
type nodeCache struct {
	nc *nomad.Client
	q  *nomad.QueryOptions
	mu sync.Mutex
	m  map[string]*nodeAPI
}

func (c *nodeCache) get(id string) (*nodeAPI, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.m[id]; ok {
		return n, nil
	}
	node, _, err := c.nc.Nodes().Info(id, c.q)
	if err != nil {
		return nil, nomadError("node "+id, err)
	}
	n := managementAPI(node)
	c.m[id] = n
	return n, nil
}

// managementAPI reads a node's Management API address from the attributes
// the plugin publishes. A bind address of 0.0.0.0 or :: (or none, from an
// older plugin) is reached at the node's own address (that of its Nomad
// HTTP API); a loopback bind only from the node itself.
func managementAPI(node *nomad.Node) *nodeAPI {
	n := &nodeAPI{name: node.Name}
	host, _, err := net.SplitHostPort(node.HTTPAddr)
	if err != nil || host == "" {
		host = node.Attributes["unique.network.ip-address"]
	}
	n.host = host
	port, _ := strconv.Atoi(node.Attributes[attrAPIPort])
	if port <= 0 {
		n.err = fmt.Errorf("node %s has no Management API (%s is %q): start its nomad_iis plugin with --management-api-port",
			node.Name, attrAPIPort, node.Attributes[attrAPIPort])
		return n
	}
	scheme := node.Attributes[attrAPIScheme]
	if scheme != "https" {
		scheme = "http"
	}
	apiHost := node.Attributes[attrAPIBind]
	if ip := net.ParseIP(apiHost); apiHost == "" || (ip != nil && ip.IsUnspecified()) {
		apiHost = host
	}
	if apiHost == "" {
		n.err = fmt.Errorf("node %s: its address is unknown (no HTTP address or unique.network.ip-address)", node.Name)
		return n
	}
	n.url = scheme + "://" + net.JoinHostPort(apiHost, strconv.Itoa(port))
	return n
}
