package api

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/shoenig/test/must"
)

// serve runs the env's server on a loopback listener until the test ends.
func (e *env) serve() string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(e.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()
	e.t.Cleanup(func() {
		cancel()
		must.NoError(e.t, <-done)
	})
	return ln.Addr().String()
}

// TestTransfer_InterruptedUpload cuts the connection in the middle of the
// body and checks that the old content is byte for byte what it was.
func TestTransfer_InterruptedUpload(t *testing.T) {
	e := newEnv(t)
	e.write("local/css/site.css", "body{}")
	addr := e.serve()
	big := make([]byte, 2<<20)
	_, _ = rand.Read(big)
	archive := testkit.MakeZip(testkit.ZipEntry{Name: "index.html", Body: "v2"}, testkit.ZipEntry{Name: "big.bin", Body: string(big)})
	before := snapshot(t, e.task.TaskDir)
	cases := []struct{ name, method, path, ct string }{
		{"PUT zip clean", "PUT", "/fs/local?clean=true", "application/zip"},
		{"PATCH zip", "PATCH", "/fs/local", "application/zip"},
		{"PUT file", "PUT", "/fs/local%2Findex.html", "application/octet-stream"},
		{"PUT file in a new folder", "PUT", "/fs/local%2Fnew%2Findex.html", "application/octet-stream"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			must.NoError(t, err)
			fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nX-Api-Key: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
				tc.method, taskURL(tc.path), addr, testKey, tc.ct, len(archive))
			_, err = conn.Write(archive[:len(archive)/2])
			must.NoError(t, err)
			must.NoError(t, conn.Close())
			testkit.Eventually(t, "the upload to end", func() bool { return strings.Count(e.logBuf.String(), "audit: method=") > i })
			must.Eq(t, before, snapshot(t, e.task.TaskDir))
			assertNoStagingLeft(t, e.task.TaskDir)
		})
	}
	must.StrContains(t, e.logBuf.String(), "status=400")
	for _, c := range e.iis.callLog() {
		must.StrNotContains(t, c, "StopAppPool", must.Sprint("pools are not touched before the body is in"))
	}
}

// TestTransfer_StalledUpload stops sending in the middle of the body; the
// server gives up after the idle timeout and changes nothing.
func TestTransfer_StalledUpload(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TransferIdleTimeout = 300 * time.Millisecond })
	addr := e.serve()
	before := snapshot(t, e.task.TaskDir)
	conn, err := net.Dial("tcp", addr)
	must.NoError(t, err)
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nX-Api-Key: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\nonly a part",
		taskURL("/fs/local%2Findex.html"), addr, testKey)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		must.Eq(t, http.StatusRequestTimeout, resp.StatusCode)
		_ = resp.Body.Close()
	}
	testkit.Eventually(t, "the upload to end", func() bool { return strings.Contains(e.logBuf.String(), "audit: method=") })
	must.Eq(t, before, snapshot(t, e.task.TaskDir))
}

// TestTransfer_DownloadMemoryIsFlat downloads a 200 MiB folder of
// incompressible data as a ZIP and checks that the heap did not grow with
// the size of the data.
func TestTransfer_DownloadMemoryIsFlat(t *testing.T) {
	e := newEnv(t)
	addr := e.serve()
	dir := filepath.Join(e.task.TaskDir, "local", "data")
	must.NoError(t, os.MkdirAll(dir, 0o755))
	chunk := make([]byte, 4<<20)
	for i := 0; i < 50; i++ {
		_, _ = rand.Read(chunk)
		must.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("blob-%02d.bin", i)), chunk, 0o644))
	}
	const total = 50 * 4 << 20

	req, err := http.NewRequest("GET", "http://"+addr+taskURL("/fs/local%2Fdata"), nil)
	must.NoError(t, err)
	req.Header.Set("X-Api-Key", testKey)
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	resp, err := http.DefaultClient.Do(req)
	must.NoError(t, err)
	defer resp.Body.Close()
	must.Eq(t, 200, resp.StatusCode)

	// Read the stream, sampling the heap as it goes.
	var peak uint64
	buf := make([]byte, 1<<20)
	var n int64
	var next int64
	for {
		m, err := resp.Body.Read(buf)
		n += int64(m)
		if n >= next {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			next += 16 << 20
		}
		if err == io.EOF {
			break
		}
		must.NoError(t, err)
	}
	must.Greater(t, int64(total), n, must.Sprint("the archive holds the data"))
	growth := int64(peak) - int64(base.HeapInuse)
	t.Logf("streamed %d MiB; heap in use grew by %d KiB at most", n>>20, growth>>10)
	// One compressor, one copy buffer, a few pools: a few MiB, not 200.
	must.Less(t, int64(32<<20), growth)
}

// TestTransfer_TLS serves over HTTPS with a certificate and key from files.
func TestTransfer_TLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := writeSelfSigned(t, dir)
	e := newEnv(t, func(c *Config) { c.TLSCertFile, c.TLSKeyFile = certFile, keyFile })
	addr := e.serve()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, err := http.NewRequest("GET", "https://"+addr+taskURL("/fs/local%2Findex.html"), nil)
	must.NoError(t, err)
	req.Header.Set("X-Api-Key", testKey)
	resp, err := client.Do(req)
	must.NoError(t, err)
	defer resp.Body.Close()
	must.Eq(t, 200, resp.StatusCode)
	must.NotNil(t, resp.TLS)
	b, _ := io.ReadAll(resp.Body)
	must.Eq(t, "<h1>v1</h1>", string(b))
	// Plain HTTP on the TLS port gets nowhere.
	plain, err := http.Get("http://" + addr + taskURL("/status"))
	if err == nil {
		must.Eq(t, http.StatusBadRequest, plain.StatusCode)
		_ = plain.Body.Close()
	}
	_, err = New(Config{TLSCertFile: filepath.Join(dir, "missing.pem"), TLSKeyFile: keyFile}, testkit.NewRegistry(), testkit.DownIIS{}, nil)
	must.ErrorContains(t, err, FlagTLSCert)
}

// writeSelfSigned writes a certificate for 127.0.0.1 and its key into dir;
// pool trusts the certificate.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	must.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	must.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	must.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile, pool
}
