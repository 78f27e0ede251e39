//go:build !windows

package iissim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
	"software.sslmate.com/src/go-pkcs12"
)

type keyPair struct {
	cert *x509.Certificate
	key  any
}

func makeCert(t *testing.T, cn string, parent *keyPair, ec bool) *keyPair {
	t.Helper()
	var (
		key any
		pub any
		err error
	)
	if ec {
		k, e := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		key, pub, err = k, &k.PublicKey, e
	} else {
		k, e := rsa.GenerateKey(rand.Reader, 2048)
		key, pub, err = k, &k.PublicKey, e
	}
	must.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: parent == nil, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	signerCert, signerKey := tmpl, key
	if parent != nil {
		signerCert, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, pub, signerKey)
	must.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	must.NoError(t, err)
	return &keyPair{cert: c, key: key}
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	must.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func sha1Hex(c *x509.Certificate) string {
	s := sha1.Sum(c.Raw)
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

func TestImportCertificate_PFXWithChain(t *testing.T) {
	store := certStore{dir: t.TempDir()}
	ca := makeCert(t, "CA", nil, false)
	leaf := makeCert(t, "site.test", ca, false)
	pfx, err := pkcs12.Modern.Encode(leaf.key, leaf.cert, []*x509.Certificate{ca.cert}, "pw")
	must.NoError(t, err)
	p := writeTemp(t, "a.pfx", pfx)

	c, err := importCertificate(store, &ps.ImportCertificateArgs{PfxPath: p, Password: "pw"})
	must.NoError(t, err)
	must.EqOp(t, sha1Hex(leaf.cert), c.Thumbprint)
	must.EqOp(t, "CN=site.test", c.Subject)
	must.True(t, c.Managed)
	must.False(t, c.AlreadyPresent)
	sc, err := store.get(c.Thumbprint)
	must.NoError(t, err)
	must.EqOp(t, "[MBN] site.test", sc.FriendlyName)
	must.EqOp(t, 2, strings.Count(sc.ChainPEM, "BEGIN CERTIFICATE"))
	tc, err := sc.tlsCertificate()
	must.NoError(t, err)
	must.Len(t, 2, tc.Certificate)
	info, err := os.Stat(store.path(c.Thumbprint))
	must.NoError(t, err)
	must.EqOp(t, os.FileMode(0o600), info.Mode().Perm())

	_, err = importCertificate(store, &ps.ImportCertificateArgs{PfxPath: p, Password: "nope"})
	must.EqOp(t, ps.KindInvalidArgument, errorKind(err))
	must.StrNotContains(t, err.Error(), "nope")
}

func TestImportCertificate_PEMKeyFormats(t *testing.T) {
	ca := makeCert(t, "CA", nil, true)
	cases := []struct {
		name    string
		ec      bool
		keyPEM  func(k any) []byte
		chain   bool
		oneFile bool
		kind    ps.ErrorKind
	}{
		{name: "PKCS#8 RSA, one file", oneFile: true, keyPEM: pkcs8},
		{name: "PKCS#1 RSA", keyPEM: func(k any) []byte {
			return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.(*rsa.PrivateKey))})
		}},
		{name: "SEC 1 EC with chain", ec: true, chain: true, keyPEM: func(k any) []byte {
			der, _ := x509.MarshalECPrivateKey(k.(*ecdsa.PrivateKey))
			return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
		}},
		{name: "encrypted key", keyPEM: func(any) []byte {
			return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}})
		}, kind: ps.KindInvalidArgument},
		{name: "no key", keyPEM: func(any) []byte { return []byte("nothing here\n") }, kind: ps.KindInvalidArgument},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := certStore{dir: t.TempDir()}
			leaf := makeCert(t, "pem.test", ca, c.ec)
			chain := certPEM(leaf.cert)
			if c.chain {
				chain = append(chain, certPEM(ca.cert)...)
			}
			var args ps.ImportCertificateArgs
			if c.oneFile {
				p := writeTemp(t, "both.pem", append(chain, c.keyPEM(leaf.key)...))
				args = ps.ImportCertificateArgs{CertPath: p, KeyPath: p}
			} else {
				args = ps.ImportCertificateArgs{CertPath: writeTemp(t, "c.pem", chain), KeyPath: writeTemp(t, "k.pem", c.keyPEM(leaf.key))}
			}
			got, err := importCertificate(store, &args)
			if c.kind != "" {
				must.EqOp(t, c.kind, errorKind(err))
				return
			}
			must.NoError(t, err)
			must.EqOp(t, sha1Hex(leaf.cert), got.Thumbprint)
			sc, err := store.get(got.Thumbprint)
			must.NoError(t, err)
			_, err = sc.tlsCertificate()
			must.NoError(t, err)
		})
	}
}

func pkcs8(k any) []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestImportCertificate_SelfSigned(t *testing.T) {
	store := certStore{dir: t.TempDir()}
	c, err := importCertificate(store, &ps.ImportCertificateArgs{SelfSigned: true, Hostname: "shop.example.test"})
	must.NoError(t, err)
	sc, err := store.get(c.Thumbprint)
	must.NoError(t, err)
	leaf, err := parseCertificates([]byte(sc.ChainPEM))
	must.NoError(t, err)
	cert := leaf[0]
	must.EqOp(t, "shop.example.test", cert.Subject.CommonName)
	must.Eq(t, []string{"shop.example.test", "localhost"}, cert.DNSNames)
	must.Len(t, 1, cert.IPAddresses)
	must.True(t, cert.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)))
	must.EqOp(t, x509.SHA256WithRSA, cert.SignatureAlgorithm)
	must.EqOp(t, 2048, cert.PublicKey.(*rsa.PublicKey).N.BitLen())
	must.SliceContains(t, cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	must.SliceContains(t, cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	must.True(t, cert.NotAfter.Sub(cert.NotBefore) > 364*24*time.Hour)
	must.True(t, c.Managed)

	local, err := importCertificate(store, &ps.ImportCertificateArgs{SelfSigned: true})
	must.NoError(t, err)
	must.EqOp(t, "CN=localhost", local.Subject)

	_, err = importCertificate(store, &ps.ImportCertificateArgs{SelfSigned: true, Hostname: "bad host"})
	must.EqOp(t, ps.KindInvalidArgument, errorKind(err))
}

func TestAddCertificate_IsNotManaged(t *testing.T) {
	dir := t.TempDir()
	leaf := makeCert(t, "admin.test", nil, false)
	tp, err := AddCertificate(dir, certPEM(leaf.cert), pkcs8(leaf.key), "Admin's certificate")
	must.NoError(t, err)
	must.EqOp(t, sha1Hex(leaf.cert), tp)
	store := certStore{dir: layout{dir: dir}.certsDir()}
	p := writeTemp(t, "both.pem", append(certPEM(leaf.cert), pkcs8(leaf.key)...))
	c, err := importCertificate(store, &ps.ImportCertificateArgs{CertPath: p, KeyPath: p})
	must.NoError(t, err)
	must.True(t, c.AlreadyPresent)
	must.False(t, c.Managed)
	list, err := store.list()
	must.NoError(t, err)
	must.Eq(t, []string{tp}, list)
}

func TestNormalizeThumbprint(t *testing.T) {
	must.EqOp(t, "0123456789ABCDEF", normalizeThumbprint("\u200e01 23 45 67 89 ab cd ef"))
	must.True(t, isThumbprint("0123456789ABCDEF0123456789ABCDEF01234567"))
	must.False(t, isThumbprint("0123456789abcdef0123456789abcdef01234567"))
}
