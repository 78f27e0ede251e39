package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// DeployTarget names the application directory a zero-downtime deploy or a
// rollback switches, and how.
type DeployTarget struct {
	// App is the application's alias ("" is the root application, or the
	// task's only one).
	App string
	// VDir is a virtual directory alias below it ("" is its root directory).
	VDir string
	// Warmup, when set, is a path starting with "/" that the new version
	// must answer with 2xx or 3xx before the switch completes.
	Warmup string
	// WarmupTimeout bounds the warm-up (0: the API's default, 30s; at most 10m).
	WarmupTimeout time.Duration
	// AllowRestart lets a pool with disable_overlapped_recycle switch by
	// stopping and starting instead of being refused.
	AllowRestart bool
}

// query is t as the deploy routes' query parameters; the API checks them.
func (t DeployTarget) query() url.Values {
	q := url.Values{}
	if t.App != "" {
		q.Set("app", t.App)
	}
	if t.VDir != "" {
		q.Set("vdir", t.VDir)
	}
	if t.Warmup != "" {
		q.Set("warmup", t.Warmup)
	}
	if t.WarmupTimeout > 0 {
		q.Set("warmupTimeout", t.WarmupTimeout.String())
	}
	if t.AllowRestart {
		q.Set("allowRestart", "true")
	}
	return q
}

// DeployOptions are the choices of a zero-downtime deploy.
type DeployOptions struct {
	DeployTarget
	// Progress, when set, follows the bytes sent.
	Progress Progress
}

// Deploy sends the archive src (a ZIP file, or a folder zipped while it is
// sent) to PUT …/deploy: the API extracts it into a new version folder and
// switches the application's directory to it with an overlapped recycle.
func (c *Client) Deploy(ctx context.Context, t Task, src Source, opts DeployOptions) (*DeployResult, error) {
	if src.ContentType() != "application/zip" {
		return nil, fmt.Errorf("deploy %s: a zero-downtime deploy takes a ZIP archive or a folder", src.Describe())
	}
	r := request{method: http.MethodPut, path: taskPath(t, "/deploy"), query: opts.query()}
	var out DeployResult
	if err := c.sendSource(ctx, r, src, opts.Progress, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RollbackOptions are the choices of a rollback.
type RollbackOptions struct {
	DeployTarget
	// Version is the kept version to switch back to (such as "v2" or
	// "initial"); "" is the newest one before the current.
	Version string
}

// Rollback switches the application's directory back to a kept version
// (PUT …/deploy/rollback), the same way as a deploy.
func (c *Client) Rollback(ctx context.Context, t Task, opts RollbackOptions) (*DeployResult, error) {
	q := opts.query()
	if opts.Version != "" {
		q.Set("version", opts.Version)
	}
	var out DeployResult
	if err := c.doJSON(ctx, request{method: http.MethodPut, path: taskPath(t, "/deploy/rollback"), query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
