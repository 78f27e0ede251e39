package contract

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

// callTimeout bounds one operation of the suite.
const callTimeout = 2 * time.Minute

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return c
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// content writes files (slash-separated names) into a new directory.
func content(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		must.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return dir
}

// Pages of the suite that run unchanged on iissim and on IIS with ASP.NET.
const (
	pidPage = `<%@ Page Language="C#" %>pid=<%= System.Diagnostics.Process.GetCurrentProcess().Id %>`
	envPage = `<%@ Page Language="C#" %>greeting=<%= Environment.GetEnvironmentVariable("GREETING") %>;` +
		`temp=<%= Environment.GetEnvironmentVariable("TEMP") %>;pool=<%= Environment.GetEnvironmentVariable("APP_POOL_ID") %>`
)

// response is what a client saw.
type response struct {
	status int
	body   string
	header http.Header
	// thumbprint is the server certificate's, for https.
	thumbprint string
	// chain is what the server sent for https: its certificate first.
	chain []*x509.Certificate
}

// get requests url on a new connection. host, when set, is the Host header
// and the TLS server name.
func get(t *testing.T, url, host string) response {
	t.Helper()
	r, err := tryGet(url, host)
	must.NoError(t, err, must.Sprintf("GET %s", url))
	return r
}

func tryGet(url, host string) (response, error) {
	tr := &http.Transport{
		DisableKeepAlives: true,
		Proxy:             nil,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true, ServerName: host}, // the suite checks the thumbprint instead
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return response{}, err
	}
	if host != "" {
		req.Host = host
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	r := response{status: resp.StatusCode, body: string(body), header: resp.Header}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		r.thumbprint = thumbprint(resp.TLS.PeerCertificates[0])
		r.chain = resp.TLS.PeerCertificates
	}
	return r, nil
}

// httpURL is http://127.0.0.1:port + path.
func httpURL(port int, path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(port) + path
}

// httpsURL is https://127.0.0.1:port + path.
func httpsURL(port int, path string) string {
	return "https://127.0.0.1:" + strconv.Itoa(port) + path
}

// pagePID reads the pid= value of the PID page.
func pagePID(t *testing.T, url string) int {
	t.Helper()
	r := get(t, url, "")
	must.EqOp(t, http.StatusOK, r.status, must.Sprintf("GET %s: %s", url, r.body))
	v, ok := strings.CutPrefix(strings.TrimSpace(r.body), "pid=")
	must.True(t, ok, must.Sprintf("PID page: %q", r.body))
	pid, err := strconv.Atoi(v)
	must.NoError(t, err)
	return pid
}

// dropped reports that the server accepted a connection and closed it
// without any response to a request.
func dropped(t *testing.T, port int) bool {
	t.Helper()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 10*time.Second)
	must.NoError(t, err, must.Sprint("the listener must accept the connection"))
	defer func() { _ = conn.Close() }()
	must.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
	if err != nil {
		return true
	}
	n, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return n == 0
}

// thumbprint is the Windows thumbprint of a certificate.
func thumbprint(c *x509.Certificate) string {
	sum := sha1.Sum(c.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// testCert is a certificate made by the suite.
type testCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// newCert makes a certificate for cn, signed by parent (self-signed when
// nil); ec selects an ECDSA P-256 key instead of RSA-2048.
func newCert(t *testing.T, cn string, parent *testCert, ec, isCA bool) *testCert {
	t.Helper()
	var key crypto.Signer
	var err error
	if ec {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	must.NoError(t, err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	must.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"nomad-iis contract suite"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{cn},
	}
	if isCA {
		tmpl.IsCA = true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = nil
		tmpl.DNSNames = nil
	}
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signer)
	must.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	must.NoError(t, err)
	return &testCert{cert: c, key: key}
}

func (c *testCert) certPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
}

// keyPEM encodes the key as PKCS#8, or PKCS#1 / SEC 1 when legacy is set.
func (c *testCert) keyPEM(t *testing.T, legacy bool) []byte {
	t.Helper()
	if legacy {
		switch k := c.key.(type) {
		case *rsa.PrivateKey:
			return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
		case *ecdsa.PrivateKey:
			der, err := x509.MarshalECPrivateKey(k)
			must.NoError(t, err)
			return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
		}
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.key)
	must.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func (c *testCert) thumbprint() string { return thumbprint(c.cert) }

// writeFile writes data to a new file and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	must.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

// parseChain reads the CERTIFICATE blocks of PEM data.
func parseChain(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var chain []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			must.NoError(t, err)
			chain = append(chain, c)
		}
	}
	must.SliceNotEmpty(t, chain)
	return chain
}

// parseKey reads a PKCS#8 private key.
func parseKey(t *testing.T, data []byte) crypto.PrivateKey {
	t.Helper()
	b, _ := pem.Decode(data)
	must.NotNil(t, b)
	key, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	must.NoError(t, err)
	return key
}

// logLines parses a W3C log into field maps, by its #Fields header.
func logLines(raw string) []map[string]string {
	var fields []string
	var out []map[string]string
	for _, line := range strings.Split(raw, "\n") {
		line = strings.TrimRight(line, "\r")
		if rest, ok := strings.CutPrefix(line, "#Fields: "); ok {
			fields = strings.Fields(rest)
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") || fields == nil {
			continue
		}
		vals := strings.Fields(line)
		m := map[string]string{}
		for i, f := range fields {
			if i < len(vals) {
				m[f] = vals[i]
			}
		}
		out = append(out, m)
	}
	return out
}

// errorKindIs checks an operation's error kind and that the message names what is at fault.
func errorKindIs(t *testing.T, err, kind error, mentions string) {
	t.Helper()
	must.Error(t, err)
	must.ErrorIs(t, err, kind)
	var pe *ps.Error
	must.True(t, errors.As(err, &pe), must.Sprintf("%v is not a *ps.Error", err))
	if mentions != "" {
		must.StrContainsFold(t, pe.Message, mentions)
	}
}
