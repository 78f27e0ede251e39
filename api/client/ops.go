package client

import (
	"context"
	"net/http"
	"net/url"
)

// Status returns the task's pools with their worker processes.
func (c *Client) Status(ctx context.Context, t Task) (*Status, error) {
	var out Status
	if err := c.doJSON(ctx, request{method: http.MethodGet, path: taskPath(t, "/status")}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PoolOperation is start, stop or recycle.
type PoolOperation string

// The pool operations of PUT …/{operation}.
const (
	PoolStart   PoolOperation = "start"
	PoolStop    PoolOperation = "stop"
	PoolRecycle PoolOperation = "recycle"
)

// Pools starts, stops or recycles the task's pools: all of them, or only
// pool (an alias of the job file or an IIS name) when it is not empty.
func (c *Client) Pools(ctx context.Context, t Task, op PoolOperation, pool string) (*LifecycleResult, error) {
	var q url.Values
	if pool != "" {
		q = url.Values{"appPoolName": {pool}}
	}
	var out LifecycleResult
	if err := c.doJSON(ctx, request{method: http.MethodPut, path: taskPath(t, "/"+string(op)), query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// List describes a folder with its entries, or one file; an empty path is
// the task directory.
func (c *Client) List(ctx context.Context, t Task, path string) (*FileInfo, error) {
	p := taskPath(t, "/ls")
	if path != "" && path != "/" {
		p += "/" + filePath(path)
	}
	var out FileInfo
	if err := c.doJSON(ctx, request{method: http.MethodGet, path: p}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete removes a file or a folder; a path ending in "/*" empties the
// folder and keeps it.
func (c *Client) Delete(ctx context.Context, t Task, path string) (*DeleteResult, error) {
	var out DeleteResult
	if err := c.doJSON(ctx, request{method: http.MethodDelete, path: taskPath(t, "/fs/"+filePath(path))}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Version returns the plugin's version.
func (c *Client) Version(ctx context.Context) (string, error) {
	var out struct {
		Version string `json:"version"`
	}
	if err := c.doJSON(ctx, request{method: http.MethodGet, path: "/version"}, &out); err != nil {
		return "", err
	}
	return out.Version, nil
}
