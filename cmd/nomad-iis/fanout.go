package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nomad-iis/nomad-iis/api/client"
)

// envAPICACert names a PEM file of CA certificates for Management APIs
// served over https with a private CA.
const envAPICACert = "NOMAD_IIS_CACERT"

// allocFailures is the error of a command whose failures, one line per
// allocation, have been printed already.
type allocFailures struct {
	failed, total int
	code          int
}

func (e *allocFailures) Error() string {
	return fmt.Sprintf("%d of %d allocations failed", e.failed, e.total)
}

// credentials are the API key or token, from the flags or the environment.
func (a *app) credentials() (key, token string, err error) {
	key = cmp.Or(a.g.apiKey, a.env.getenv(envAPIKey))
	token = cmp.Or(a.g.token, a.env.getenv(envToken))
	if key != "" && token != "" {
		return "", "", usagef("both an API key (--api-key or %s) and a token (--token or %s) are set; use one", envAPIKey, envToken)
	}
	return key, token, nil
}

// apiClient is a Management API client of t's node.
func (a *app) apiClient(t *target) (*client.Client, error) {
	if t.apiErr != nil {
		return nil, t.apiErr
	}
	key, token, err := a.credentials()
	if err != nil {
		return nil, err
	}
	retries := a.g.retries
	if retries <= 0 {
		retries = -1
	}
	cfg := client.Config{
		BaseURL: t.APIURL, APIKey: key, Token: token, MaxRetries: retries,
		UserAgent: "nomad-iis-cli",
		OnRetry: func(e *client.Error, wait time.Duration) {
			a.printErr("%s: busy (%d %s); retrying in %s", t.label(), e.Status, e.Detail, wait)
		},
	}
	if ca := a.env.getenv(envAPICACert); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, usagef("%s: %v", envAPICACert, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usagef("%s: %s holds no PEM certificate", envAPICACert, ca)
		}
		cfg.TLSConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return client.New(cfg)
}

// outMu serialises the lines of concurrent allocations.
var outMu sync.Mutex

func (a *app) printOut(format string, args ...any) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(a.env.stdout, format+"\n", args...)
}

func (a *app) printErr(format string, args ...any) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(a.env.stderr, format+"\n", args...)
}

// action is what a command does on one allocation; its result is one line.
type action func(ctx context.Context, t *target, c *client.Client) (string, error)

// each runs fn on every target, --parallel at a time, and prints one line
// per allocation as it finishes: the result on stdout, a failure on stderr.
func (a *app) each(ctx context.Context, targets []*target, fn action) error {
	errs := a.fanOut(ctx, targets, func(ctx context.Context, _ int, t *target, c *client.Client) error {
		line, err := fn(ctx, t, c)
		if err == nil {
			a.printOut("%s: %s", t.label(), line)
		}
		return err
	})
	return a.summarise(targets, errs)
}

// fanOut runs fn on every target, --parallel at a time, and returns each
// one's error (printed on stderr already). fn gets the target's index in
// targets, so that it can store a result in a slice of its own.
func (a *app) fanOut(ctx context.Context, targets []*target, fn func(ctx context.Context, i int, t *target, c *client.Client) error) []error {
	errs := make([]error, len(targets))
	sem := make(chan struct{}, max(a.g.parallel, 1))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				a.printErr("%s: error: %s", t.label(), oneLine(ctx.Err().Error()))
				return
			}
			defer func() { <-sem }()
			c, err := a.apiClient(t)
			if err == nil {
				err = fn(ctx, i, t, c)
			}
			if err != nil {
				errs[i] = err
				a.printErr("%s: error: %s", t.label(), oneLine(err.Error()))
			}
		}()
	}
	wg.Wait()
	return errs
}

// summarise is nil when every allocation succeeded, else an *allocFailures
// with the combined exit code.
func (a *app) summarise(targets []*target, errs []error) error {
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if failed == 0 {
		return nil
	}
	if len(targets) > 1 {
		a.printErr("nomad-iis: %d of %d allocations failed", failed, len(targets))
	}
	return &allocFailures{failed: failed, total: len(targets), code: combinedExitCode(errs)}
}
