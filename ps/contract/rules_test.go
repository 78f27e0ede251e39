package contract

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"testing"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
	"software.sslmate.com/src/go-pkcs12"
)

// Scenarios of IIS's rules (ps/iisrules): where IIS refuses a request, both
// backends refuse it with the same kind and change nothing.

// selfSigned imports a self-signed certificate for host.
func (e *env) selfSigned(t *testing.T, host string) string {
	t.Helper()
	c, err := e.iis.ImportCertificate(ctx(t), &ps.ImportCertificateArgs{SelfSigned: true, Hostname: host})
	must.NoError(t, err)
	t.Cleanup(func() { _, _ = e.iis.RemoveCertificate(ctx(t), c.Thumbprint) })
	return c.Thumbprint
}

// testNonSNIHTTPSOneIPPort: HTTP.sys holds one certificate per IP:port for
// https without SNI, so a second site with its own non-SNI https binding
// on the same IP:port would change or remove the first one's certificate.
func testNonSNIHTTPSOneIPPort(t *testing.T, e *env) {
	port := testkit.FreePort(t)
	dir := e.content(t, map[string]string{"index.html": "first"})
	thumbA := e.selfSigned(t, "a.example.test")
	thumbB := e.selfSigned(t, "b.example.test")
	a := httpsSite(e.name("nosni-a"), dir, port, thumbA)
	a.Bindings[0].Hostname = "a.example.test"
	e.create(t, a)

	b := httpsSite(e.name("nosni-b"), dir, port, thumbB)
	b.Bindings[0].Hostname = "b.example.test"
	_, err := e.iis.NewTaskSite(ctx(t), b)
	errorKindIs(t, err, ps.ErrConflict, fmt.Sprint(port))
	b.Bindings = nil
	e.nothingLeft(t, b)

	// The first site keeps its certificate.
	r := get(t, httpsURL(port, "/"), "a.example.test")
	must.EqOp(t, "first", r.body)
	must.EqOp(t, thumbA, r.thumbprint)

	// With SNI, each host name has its own certificate on the IP:port.
	sni := httpsSite(e.name("nosni-c"), dir, port, thumbB)
	sni.Bindings[0].Hostname = "b.example.test"
	sni.Bindings[0].RequireSNI = true
	e.create(t, sni)
	must.EqOp(t, thumbB, get(t, httpsURL(port, "/"), "b.example.test").thumbprint)
	must.EqOp(t, thumbA, get(t, httpsURL(port, "/"), "a.example.test").thumbprint)
}

// testWildcardAgainstSpecific: "*" (and 0.0.0.0) overlap every address of
// the machine, so a binding on "*" and one on 127.0.0.1 share an IP:port.
func testWildcardAgainstSpecific(t *testing.T, e *env) {
	port := testkit.FreePort(t)
	dir := e.content(t, map[string]string{"index.html": "first"})
	first := site(e.name("wild-a"), e.name("wild-a"), dir, port)
	first.Bindings[0] = ps.BindingSpec{Protocol: "http", IPAddress: "*", Port: port, Hostname: "wild.example.test"}
	e.create(t, first)

	thumb := e.selfSigned(t, "other.example.test")
	cases := []struct {
		name    string
		binding ps.BindingSpec
	}{
		{"the same host name on a specific address", ps.BindingSpec{Protocol: "http", IPAddress: "127.0.0.1", Port: port, Hostname: "wild.example.test"}},
		{"the same host name on 0.0.0.0", ps.BindingSpec{Protocol: "http", IPAddress: "0.0.0.0", Port: port, Hostname: "wild.example.test"}},
		{"https on a specific address next to http on *", ps.BindingSpec{Protocol: "https", IPAddress: "127.0.0.1", Port: port, Hostname: "other.example.test", CertificateThumbprint: thumb}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := e.name(fmt.Sprintf("wild-b%d", i))
			second := site(n, n, dir, port)
			second.Bindings[0] = c.binding
			_, err := e.iis.NewTaskSite(ctx(t), second)
			errorKindIs(t, err, ps.ErrConflict, fmt.Sprint(port))
			second.Bindings = nil
			e.nothingLeft(t, second)
		})
	}
	must.EqOp(t, "first", get(t, httpURL(port, "/"), "wild.example.test").body)

	// Another host name on a specific address shares the port.
	n := e.name("wild-c")
	other := site(n, n, e.content(t, map[string]string{"index.html": "second"}), port)
	other.Bindings[0] = ps.BindingSpec{Protocol: "http", IPAddress: "127.0.0.1", Port: port, Hostname: "other.example.test"}
	e.create(t, other)
	must.EqOp(t, "second", get(t, httpURL(port, "/"), "other.example.test").body)
	must.EqOp(t, "first", get(t, httpURL(port, "/"), "wild.example.test").body)
}

// testIntermediateChain: a certificate issued by an intermediate CA is
// served with that intermediate, from a PFX and from a PEM chain, so that a
// client that trusts only the root can verify it.
func testIntermediateChain(t *testing.T, e *env) {
	root := newCert(t, "contract suite root CA", nil, false, true)
	inter := newCert(t, "contract suite intermediate CA", root, false, true)
	roots := x509.NewCertPool()
	roots.AddCert(root.cert)

	pfxLeaf := newCert(t, "chain-pfx.example.test", inter, false, false)
	pfx, err := pkcs12.Modern.Encode(pfxLeaf.key, pfxLeaf.cert, []*x509.Certificate{inter.cert}, "chain-pfx")
	must.NoError(t, err)
	pemLeaf := newCert(t, "chain-pem.example.test", inter, false, false)
	pemPath := writeFile(t, "fullchain.pem", append(pemLeaf.certPEM(), inter.certPEM()...))
	keyPath := writeFile(t, "tls.key", pemLeaf.keyPEM(t, false))

	cases := []struct {
		name string
		leaf *testCert
		args ps.ImportCertificateArgs
	}{
		{"PFX with the intermediate", pfxLeaf, ps.ImportCertificateArgs{PfxPath: writeFile(t, "chain.pfx", pfx), Password: "chain-pfx"}},
		{"PEM full chain", pemLeaf, ps.ImportCertificateArgs{CertPath: pemPath, KeyPath: keyPath}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			imported, err := e.iis.ImportCertificate(ctx(t), &c.args)
			must.NoError(t, err)
			must.EqOp(t, c.leaf.thumbprint(), imported.Thumbprint)
			dir := e.content(t, map[string]string{"index.html": "chain"})
			port := testkit.FreePort(t)
			e.create(t, httpsSite(e.name(fmt.Sprintf("chain%d", i)), dir, port, imported.Thumbprint))

			host := c.leaf.cert.Subject.CommonName
			r := get(t, httpsURL(port, "/"), host)
			must.EqOp(t, http.StatusOK, r.status)
			must.EqOp(t, imported.Thumbprint, r.thumbprint)
			must.True(t, len(r.chain) >= 2, must.Sprintf("the server sends the leaf and the intermediate, not %d certificate(s)", len(r.chain)))
			must.EqOp(t, thumbprint(inter.cert), thumbprint(r.chain[1]))
			// Verified with the root alone: only what the server sent
			// leads from the leaf to it.
			intermediates := x509.NewCertPool()
			for _, sent := range r.chain[1:] {
				intermediates.AddCert(sent)
			}
			_, err = r.chain[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: intermediates})
			must.NoError(t, err)
		})
	}
}

// testDurationGranularity: IIS takes the idle timeout and the periodic
// restart in whole minutes and the start and shutdown limits in whole
// seconds; anything else is InvalidArgument naming the field.
func testDurationGranularity(t *testing.T, e *env) {
	dir := e.content(t, map[string]string{"index.html": "durations"})
	i64 := func(v int64) *int64 { return &v }
	cases := []struct {
		name   string
		mutate func(p *ps.AppPoolSpec)
		field  string // "" when accepted
	}{
		{"idle timeout of 90 s", func(p *ps.AppPoolSpec) { p.IdleTimeoutMs = i64(90_000) }, "idleTimeoutMs"},
		{"periodic restart of 30 s", func(p *ps.AppPoolSpec) { p.PeriodicRestartMs = i64(30_000) }, "periodicRestartMs"},
		{"startup limit of 1.5 s", func(p *ps.AppPoolSpec) { p.StartupTimeLimitMs = i64(1500) }, "startupTimeLimitMs"},
		{"shutdown limit of 0", func(p *ps.AppPoolSpec) { p.ShutdownTimeLimitMs = i64(0) }, "shutdownTimeLimitMs"},
		{"idle timeout above 30 days", func(p *ps.AppPoolSpec) { p.IdleTimeoutMs = i64(30*24*3600_000 + 60_000) }, "idleTimeoutMs"},
		{"whole minutes and seconds", func(p *ps.AppPoolSpec) {
			p.IdleTimeoutMs, p.PeriodicRestartMs = i64(120_000), i64(29*3600_000)
			p.StartupTimeLimitMs, p.ShutdownTimeLimitMs = i64(1000), i64(45_000)
		}, ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := e.name(fmt.Sprintf("dur%d", i))
			spec := site(n, n, dir, testkit.FreePort(t))
			c.mutate(&spec.AppPools[0])
			if c.field == "" {
				e.create(t, spec)
				must.EqOp(t, ps.StateStarted, e.appPool(t, n).State)
				return
			}
			_, err := e.iis.NewTaskSite(ctx(t), spec)
			errorKindIs(t, err, ps.ErrInvalidArgument, c.field)
			e.nothingLeft(t, spec)
		})
	}
}

// testProviderNameCase: auto-start provider names are case-sensitive keys
// in IIS: "Warmup" and "warmup" are two providers, an application naming
// one does not use the other, and removing one keeps the other.
func testProviderNameCase(t *testing.T, e *env) {
	dir := e.content(t, map[string]string{"index.html": "provider"})
	upper, lower := e.prefix+"-Warmup", e.prefix+"-warmup"
	withProvider := func(suffix, register, use string) *ps.TaskSiteSpec {
		n := e.name(suffix)
		spec := site(n, n, dir, testkit.FreePort(t))
		if register != "" {
			spec.AutoStartProviders = []ps.AutoStartProviderSpec{{Name: register, Type: "Contract.Warmup, Contract"}}
		}
		spec.Applications[0].ServiceAutoStartProvider = use
		return spec
	}
	removeWithProviders := func(t *testing.T, spec *ps.TaskSiteSpec, providers ...string) {
		t.Helper()
		_, err := e.iis.RemoveTaskSite(ctx(t), &ps.RemoveTaskSiteArgs{SiteName: spec.SiteName, AppPools: []string{spec.AppPools[0].Name}, AutoStartProviders: providers})
		must.NoError(t, err)
	}

	a := withProvider("prov-a", upper, upper)
	ts, err := e.iis.NewTaskSite(ctx(t), a)
	must.NoError(t, err)
	t.Cleanup(func() { removeWithProviders(t, a, upper) })
	must.Eq(t, []string{upper}, ts.AutoStartProviders)

	// Another case is another provider, registered next to the first.
	b := withProvider("prov-b", lower, lower)
	ts, err = e.iis.NewTaskSite(ctx(t), b)
	must.NoError(t, err)
	must.Eq(t, []string{lower}, ts.AutoStartProviders)

	// A name that matches only ignoring case is not registered.
	c := withProvider("prov-c", "", e.prefix+"-WARMUP")
	_, err = e.iis.NewTaskSite(ctx(t), c)
	errorKindIs(t, err, ps.ErrInvalidArgument, "serviceAutoStartProvider")
	e.nothingLeft(t, c)

	// Removing "warmup" keeps "Warmup": a new application can still use it.
	removeWithProviders(t, b, lower)
	d := withProvider("prov-d", "", upper)
	e.create(t, d)
	again := withProvider("prov-e", "", lower)
	_, err = e.iis.NewTaskSite(ctx(t), again)
	errorKindIs(t, err, ps.ErrInvalidArgument, "serviceAutoStartProvider")
	e.nothingLeft(t, again)
}
