package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// siteURL is the address of t's site on its node: the task's first http
// binding (as the API's screenshots use), its port label resolved to the
// allocated port, its ip_address or else the node's address, and its host
// name as the Host header.
func siteURL(t *target) (base, host string, err error) {
	if t.alloc == nil {
		return "", "", usagef("the site's address comes from Nomad; --api-addr does not give it")
	}
	tg := groupOf(t.alloc)
	if tg == nil {
		return "", "", fmt.Errorf("allocation %s: no group %s in its job", t.AllocID, t.alloc.TaskGroup)
	}
	var cfg map[string]any
	for _, task := range tg.Tasks {
		if task.Name == t.Task {
			cfg = task.Config
		}
	}
	for _, b := range blocks(cfg["binding"]) {
		if typ, _ := b["type"].(string); !strings.EqualFold(typ, "http") {
			continue
		}
		port, err := bindingPort(t, fmt.Sprint(b["port"]))
		if err != nil {
			return "", "", err
		}
		ip, _ := b["ip_address"].(string)
		if ip == "" || ip == "*" {
			ip = t.nodeHost
		}
		if ip == "" {
			return "", "", fmt.Errorf("the address of node %s is unknown", t.NodeName)
		}
		host, _ = b["hostname"].(string)
		if strings.HasPrefix(host, "*.") {
			host = "www" + host[1:]
		}
		return "http://" + net.JoinHostPort(ip, strconv.Itoa(port)), host, nil
	}
	return "", "", fmt.Errorf("task %s has no http binding to wait for", t.Task)
}

// blocks reads a repeatable HCL block of a task's config as the Nomad API
// returns it: a list of objects (or one object).
func blocks(v any) []map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return []map[string]any{v}
	case []any:
		var out []map[string]any
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// bindingPort resolves a binding's port: a label of the allocation's
// ports, or a number.
func bindingPort(t *target, port string) (int, error) {
	if n, err := strconv.Atoi(port); err == nil {
		return n, nil
	}
	if ar := t.alloc.AllocatedResources; ar != nil {
		for _, p := range ar.Shared.Ports {
			if p.Label == port {
				return p.Value, nil
			}
		}
		for _, nw := range ar.Shared.Networks {
			for _, p := range append(nw.DynamicPorts, nw.ReservedPorts...) {
				if p.Label == port {
					return p.Value, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("allocation %s has no port %q", t.AllocID, port)
}

// waitHTTP waits until GET path on t's site answers below 400 and returns
// that status.
func waitHTTP(ctx context.Context, t *target, path string, timeout time.Duration) (int, error) {
	base, host, err := siteURL(t)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: 10 * time.Second}
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return 0, fmt.Errorf("--wait-http %s: %w", path, err)
		}
		if host != "" {
			req.Host = host
		}
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode < 400 {
				return resp.StatusCode, nil
			}
			last = resp.Status
		} else if ctx.Err() == nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("GET %s%s did not answer below 400 within %s (last: %s)", base, path, timeout, last)
		case <-time.After(pollInterval):
		}
	}
}
