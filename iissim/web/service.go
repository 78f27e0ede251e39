//go:build !windows

package web

import (
	"context"
	"crypto/tls"
	"errors"
)

// Service is what the web plane needs of the iissim service. Package
// iissim's service implements it.
type Service interface {
	// Routes is the current routing snapshot, which the service rebuilds on
	// every configuration change; the plane reads it without a lock, once
	// per request or TLS handshake.
	Routes() *Routes
	// Certificate loads a certificate of the store by thumbprint for a TLS
	// handshake.
	Certificate(thumbprint string) (*tls.Certificate, error)
}

// Pool is an application pool's runtime as the web plane sees it.
type Pool interface {
	// Acquire returns a worker for a request, starting the pool's workers
	// when it has none. It fails with ErrPoolStopped when the pool does not
	// serve.
	Acquire(ctx context.Context) (Worker, error)
	// LoadBalancerCapabilities is what a request meets when the pool is
	// stopped: "HttpLevel" (a 503) or "TcpLevel" (a closed connection).
	LoadBalancerCapabilities() string
}

// Worker is a worker process of a pool as the proxy reaches it.
type Worker struct {
	// Addr is the worker's 127.0.0.1 listen address.
	Addr string
	// Token authenticates the proxy's requests to the worker.
	Token string
	// Release, when set, tells the pool that the request handed to the
	// worker has been answered: a worker being retired by a recycle
	// finishes every request it was given before it is asked to exit.
	Release func()
}

// ErrPoolStopped is returned by Pool.Acquire when the pool does not serve.
var ErrPoolStopped = errors.New("application pool is stopped")
