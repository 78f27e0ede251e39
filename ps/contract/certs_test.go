package contract

import (
	"net/http"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
	"software.sslmate.com/src/go-pkcs12"
)

// httpsSite is a site whose one binding is https with the certificate.
func httpsSite(name, dir string, port int, thumb string) *ps.TaskSiteSpec {
	spec := site(name, name, dir, port)
	spec.Bindings[0].Protocol = "https"
	spec.Bindings[0].CertificateThumbprint = thumb
	return spec
}

// checkManaged checks an import result.
func checkManaged(t *testing.T, c *ps.Certificate, thumb string, present bool) {
	t.Helper()
	must.EqOp(t, thumb, c.Thumbprint)
	must.True(t, c.Managed)
	must.EqOp(t, present, c.AlreadyPresent)
}

// serveWith creates an https site with the certificate, checks that it
// serves TLS with it, removes it and checks the certificate was removed.
func (e *env) serveWith(t *testing.T, suffix, thumb, serverName string) {
	t.Helper()
	dir := e.content(t, map[string]string{"index.html": "secure " + suffix})
	port := testkit.FreePort(t)
	spec := httpsSite(e.name(suffix), dir, port, thumb)
	e.create(t, spec)
	r := get(t, httpsURL(port, "/"), serverName)
	must.EqOp(t, http.StatusOK, r.status)
	must.EqOp(t, "secure "+suffix, r.body)
	must.EqOp(t, thumb, r.thumbprint)

	removed := e.remove(t, spec)
	must.Eq(t, []string{thumb}, removed.RemovedCertificates)
	_, err := e.iis.RemoveCertificate(ctx(t), thumb)
	must.ErrorIs(t, err, ps.ErrNotFound)
}

func testHTTPSSelfSigned(t *testing.T, e *env) {
	c, err := e.iis.ImportCertificate(ctx(t), &ps.ImportCertificateArgs{SelfSigned: true, Hostname: "localhost"})
	must.NoError(t, err)
	must.RegexMatch(t, regexp.MustCompile(hexThumbprint), c.Thumbprint)
	checkManaged(t, c, c.Thumbprint, false)
	must.StrContains(t, c.Subject, "CN=localhost")
	must.True(t, c.NotAfter.After(time.Now().Add(360*24*time.Hour)) && c.NotAfter.Before(time.Now().Add(367*24*time.Hour)),
		must.Sprintf("a self-signed certificate is valid a year, not until %s", c.NotAfter))
	e.serveWith(t, "selfsigned", c.Thumbprint, "localhost")
}

func testHTTPSPFX(t *testing.T, e *env) {
	ca := newCert(t, "contract suite CA", nil, false, true)
	leaf := newCert(t, "pfx.example.test", ca, false, false)
	pfx, err := pkcs12.Modern.Encode(leaf.key, leaf.cert, nil, "s3cret-pfx")
	must.NoError(t, err)
	path := writeFile(t, "site.pfx", pfx)

	_, err = e.iis.ImportCertificate(ctx(t), &ps.ImportCertificateArgs{PfxPath: path, Password: "wrong-password"})
	errorKindIs(t, err, ps.ErrInvalidArgument, "")
	must.StrNotContains(t, err.Error(), "wrong-password")

	c, err := e.iis.ImportCertificate(ctx(t), &ps.ImportCertificateArgs{PfxPath: path, Password: "s3cret-pfx"})
	must.NoError(t, err)
	checkManaged(t, c, leaf.thumbprint(), false)
	again, err := e.iis.ImportCertificate(ctx(t), &ps.ImportCertificateArgs{PfxPath: path, Password: "s3cret-pfx"})
	must.NoError(t, err)
	checkManaged(t, again, leaf.thumbprint(), true)
	e.serveWith(t, "pfx", c.Thumbprint, "pfx.example.test")
}

func testHTTPSPEM(t *testing.T, e *env) {
	ca := newCert(t, "contract suite CA", nil, false, true)
	cases := []struct {
		name string
		ec   bool
		// legacy selects PKCS#1 / SEC 1 keys instead of PKCS#8.
		legacy bool
		// oneFile puts the key in the certificate file.
		oneFile bool
		// chain appends the CA to the certificate file.
		chain bool
	}{
		{name: "PKCS#8 RSA key in the certificate file", oneFile: true},
		{name: "PKCS#1 RSA key in its own file", legacy: true},
		{name: "EC key and a chain", ec: true, legacy: true, chain: true},
		{name: "PKCS#8 EC key", ec: true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			leaf := newCert(t, "pem.example.test", ca, c.ec, false)
			certPEM := leaf.certPEM()
			if c.chain {
				certPEM = append(certPEM, ca.certPEM()...)
			}
			keyPEM := leaf.keyPEM(t, c.legacy)
			var args ps.ImportCertificateArgs
			if c.oneFile {
				p := writeFile(t, "tls.pem", append(certPEM, keyPEM...))
				args = ps.ImportCertificateArgs{CertPath: p, KeyPath: p}
			} else {
				args = ps.ImportCertificateArgs{CertPath: writeFile(t, "tls.crt", certPEM), KeyPath: writeFile(t, "tls.key", keyPEM)}
			}
			imported, err := e.iis.ImportCertificate(ctx(t), &args)
			if c.ec && !e.be.ECKeysInPEM() {
				errorKindIs(t, err, ps.ErrInvalidArgument, "keyPath")
				return
			}
			must.NoError(t, err)
			checkManaged(t, imported, leaf.thumbprint(), false)
			e.serveWith(t, "pem"+itoa(int64(i)), imported.Thumbprint, "pem.example.test")
		})
	}
}

func testHTTPSSNI(t *testing.T, e *env) {
	ca := newCert(t, "contract suite CA", nil, false, true)
	port := testkit.FreePort(t)
	name := e.name("sni")
	dir := e.content(t, map[string]string{"index.html": "sni"})
	spec := site(name, name, dir, port)
	spec.Bindings = nil
	want := map[string]string{}
	for _, host := range []string{"a.example.test", "b.example.test"} {
		leaf := newCert(t, host, ca, false, false)
		p := writeFile(t, "tls.pem", append(leaf.certPEM(), leaf.keyPEM(t, false)...))
		c, err := e.iis.ImportCertificate(ctx(t), &ps.ImportCertificateArgs{CertPath: p, KeyPath: p})
		must.NoError(t, err)
		want[host] = c.Thumbprint
		spec.Bindings = append(spec.Bindings, ps.BindingSpec{
			Protocol: "https", IPAddress: "127.0.0.1", Port: port, Hostname: host, RequireSNI: true, CertificateThumbprint: c.Thumbprint,
		})
	}
	e.create(t, spec)
	for host, thumb := range want {
		r := get(t, httpsURL(port, "/"), host)
		must.EqOp(t, "sni", r.body)
		must.EqOp(t, thumb, r.thumbprint, must.Sprintf("certificate for %s", host))
	}
	removed := e.remove(t, spec)
	must.SliceContainsAll(t, []string{want["a.example.test"], want["b.example.test"]}, removed.RemovedCertificates)
}

func testCertificateShared(t *testing.T, e *env) {
	c, err := e.iis.ImportCertificate(ctx(t), &ps.ImportCertificateArgs{SelfSigned: true, Hostname: "shared.example.test"})
	must.NoError(t, err)
	dir := e.content(t, map[string]string{"index.html": "shared"})
	portA, portB := testkit.FreePort(t), testkit.FreePort(t)
	a := httpsSite(e.name("share-a"), dir, portA, c.Thumbprint)
	b := httpsSite(e.name("share-b"), dir, portB, c.Thumbprint)
	e.create(t, a)
	e.create(t, b)

	removedA := e.remove(t, a)
	must.SliceEmpty(t, removedA.RemovedCertificates)
	must.Eq(t, []string{c.Thumbprint}, removedA.KeptCertificates)
	r := get(t, httpsURL(portB, "/"), "shared.example.test")
	must.EqOp(t, c.Thumbprint, r.thumbprint)

	rc, err := e.iis.RemoveCertificate(ctx(t), c.Thumbprint)
	must.NoError(t, err)
	must.False(t, rc.Removed)
	must.SliceNotEmpty(t, rc.InUseBy)
	must.StrContains(t, rc.InUseBy[0], b.SiteName)

	removedB := e.remove(t, b)
	must.Eq(t, []string{c.Thumbprint}, removedB.RemovedCertificates)
	_, err = e.iis.RemoveCertificate(ctx(t), c.Thumbprint)
	must.ErrorIs(t, err, ps.ErrNotFound)
}

func testCertificateUnmanaged(t *testing.T, e *env) {
	leaf := newCert(t, "admin.example.test", nil, false, false)
	thumb := e.be.InstallCertificate(t, leaf.certPEM(), leaf.keyPEM(t, false))
	t.Cleanup(func() { e.be.UninstallCertificate(t, thumb) })
	must.EqOp(t, leaf.thumbprint(), thumb)

	// Importing it again does not take it over.
	p := writeFile(t, "admin.pem", append(leaf.certPEM(), leaf.keyPEM(t, false)...))
	c, err := e.iis.ImportCertificate(ctx(t), &ps.ImportCertificateArgs{CertPath: p, KeyPath: p})
	must.NoError(t, err)
	must.EqOp(t, thumb, c.Thumbprint)
	must.True(t, c.AlreadyPresent)
	must.False(t, c.Managed)

	dir := e.content(t, map[string]string{"index.html": "admin"})
	port := testkit.FreePort(t)
	spec := httpsSite(e.name("admin"), dir, port, thumb)
	e.create(t, spec)
	must.EqOp(t, thumb, get(t, httpsURL(port, "/"), "admin.example.test").thumbprint)
	removed := e.remove(t, spec)
	must.SliceEmpty(t, removed.RemovedCertificates)
	must.Eq(t, []string{thumb}, removed.KeptCertificates)

	rc, err := e.iis.RemoveCertificate(ctx(t), thumb)
	must.NoError(t, err)
	must.False(t, rc.Removed)
	// Still in the store: a new site can use it.
	e.create(t, httpsSite(e.name("admin2"), dir, testkit.FreePort(t), thumb))
}

func testCertificateBadInput(t *testing.T, e *env) {
	leaf := newCert(t, "bad.example.test", nil, false, false)
	other := newCert(t, "other.example.test", nil, false, false)
	certFile := writeFile(t, "tls.crt", leaf.certPEM())
	otherKey := writeFile(t, "other.key", other.keyPEM(t, false))
	empty := writeFile(t, "empty.pfx", nil)
	missing := certFile + ".missing"
	cases := []struct {
		name string
		args ps.ImportCertificateArgs
		kind error
	}{
		{"no source", ps.ImportCertificateArgs{}, ps.ErrInvalidArgument},
		{"two sources", ps.ImportCertificateArgs{SelfSigned: true, PfxPath: empty}, ps.ErrInvalidArgument},
		{"missing PFX file", ps.ImportCertificateArgs{PfxPath: missing}, ps.ErrNotFound},
		{"empty PFX file", ps.ImportCertificateArgs{PfxPath: empty}, ps.ErrInvalidArgument},
		{"not a PFX file", ps.ImportCertificateArgs{PfxPath: certFile}, ps.ErrInvalidArgument},
		{"certificate without key", ps.ImportCertificateArgs{CertPath: certFile}, ps.ErrInvalidArgument},
		{"key of another certificate", ps.ImportCertificateArgs{CertPath: certFile, KeyPath: otherKey}, ps.ErrInvalidArgument},
		{"missing certificate file", ps.ImportCertificateArgs{CertPath: missing, KeyPath: otherKey}, ps.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.iis.ImportCertificate(ctx(t), &c.args)
			errorKindIs(t, err, c.kind, "")
		})
	}
	_, err := os.Stat(missing)
	must.True(t, os.IsNotExist(err))
	_, err = e.iis.RemoveCertificate(ctx(t), "0123456789ABCDEF0123456789ABCDEF01234567")
	errorKindIs(t, err, ps.ErrNotFound, "")
}
