package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of Config.
const (
	// DefaultMaxRetries is how many times a busy answer (409, 429, 503 with
	// Retry-After) is retried.
	DefaultMaxRetries = 4
	// DefaultMaxRetryWait caps one wait, whatever Retry-After asks for.
	DefaultMaxRetryWait = 30 * time.Second
)

// Config configures a Client.
type Config struct {
	// BaseURL is the API's root on one node, such as http://node1:5004
	// (a trailing /api/v1 is accepted).
	BaseURL string
	// APIKey is sent as X-Api-Key; Token as Authorization: Bearer. At most
	// one of them; neither for an API on loopback without credentials.
	APIKey, Token string
	// HTTPClient sends the requests (default: a client without an overall
	// timeout, since transfers may be long; contexts bound the calls).
	HTTPClient *http.Client
	// TLSConfig, when set and HTTPClient is not, is used for https.
	TLSConfig *tls.Config
	// MaxRetries bounds the retries of a busy answer (default
	// DefaultMaxRetries; negative: none).
	MaxRetries int
	// MaxRetryWait caps one wait between retries (default DefaultMaxRetryWait).
	MaxRetryWait time.Duration
	// OnRetry, when set, is told of each retry before its wait.
	OnRetry func(err *Error, wait time.Duration)
	// UserAgent is sent as User-Agent (default "nomad-iis-client").
	UserAgent string
}

// Client calls the Management API of one node. It is safe for concurrent use.
type Client struct {
	base       *url.URL
	cfg        Config
	httpClient *http.Client
	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// Task names one task of one allocation.
type Task struct {
	AllocID  string
	TaskName string
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("client: BaseURL is empty")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: BaseURL %q is not an http:// or https:// URL with a host", cfg.BaseURL)
	}
	if cfg.APIKey != "" && cfg.Token != "" {
		return nil, errors.New("client: set APIKey or Token, not both")
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v1")
	u.RawQuery, u.Fragment = "", ""
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = DefaultMaxRetryWait
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "nomad-iis-client"
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.TLSConfig != nil {
			tr.TLSClientConfig = cfg.TLSConfig
		}
		hc = &http.Client{Transport: tr}
	}
	return &Client{base: u, cfg: cfg, httpClient: hc, sleep: sleepCtx}, nil
}

// BaseURL is the API's root the client calls.
func (c *Client) BaseURL() string { return c.base.String() }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// request is one API call.
type request struct {
	method string
	// path is below /api/v1, already escaped.
	path  string
	query url.Values
	// body, when set, opens the request body; it is called again for each
	// retry. size is -1 when unknown (chunked).
	body        func() (rc io.ReadCloser, size int64, err error)
	contentType string
	header      http.Header
}

// taskPath is the escaped path of a task route.
func taskPath(t Task, rest string) string {
	return "/allocs/" + url.PathEscape(t.AllocID) + "/" + url.PathEscape(t.TaskName) + rest
}

// filePath escapes a task-relative path segment by segment, so that
// local/a b.html is sent as local/a%20b.html.
func filePath(p string) string {
	p = strings.Trim(p, "/")
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// do sends r and returns a response with a status below 400; anything else
// is an *Error, retried while it is busy and says when to retry.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	u := *c.base
	u.Path = c.base.Path + "/api/v1" + r.path
	u.RawPath = c.base.EscapedPath() + "/api/v1" + r.path
	if r.query != nil {
		u.RawQuery = r.query.Encode()
	}
	for attempt := 1; ; attempt++ {
		resp, err := c.send(ctx, r, u.String())
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 400 {
			return resp, nil
		}
		ae := readError(resp)
		ae.Attempts = attempt
		if !retryable(ae.Status) || resp.Header.Get("Retry-After") == "" || attempt > c.cfg.MaxRetries {
			return nil, ae
		}
		wait := min(ae.RetryAfter, c.cfg.MaxRetryWait)
		if c.cfg.OnRetry != nil {
			c.cfg.OnRetry(ae, wait)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%w (gave up waiting to retry: %w)", ae, err)
		}
	}
}

func (c *Client) send(ctx context.Context, r request, target string) (*http.Response, error) {
	var body io.ReadCloser
	size := int64(0)
	if r.body != nil {
		var err error
		if body, size, err = r.body(); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	if body != nil {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
			body.Close()
		}
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	switch {
	case c.cfg.APIKey != "":
		req.Header.Set("X-Api-Key", c.cfg.APIKey)
	case c.cfg.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		// Never the URL's userinfo or a header: url.Error holds the URL only.
		return nil, fmt.Errorf("%s %s: %w", r.method, req.URL.Path, unwrapURLError(err))
	}
	return resp, nil
}

// unwrapURLError drops net/http's "Put \"http://...\":" prefix, which the
// caller's context already says.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// doJSON sends r and decodes a JSON answer into out.
func (c *Client) doJSON(ctx context.Context, r request, out any) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", r.method, resp.Request.URL.Path, err)
	}
	return nil
}
