//go:build !windows

package iissim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
	"software.sslmate.com/src/go-pkcs12"
)

// selfSignedValidity is the lifetime of a self-signed certificate.
const selfSignedValidity = 365 * 24 * time.Hour

// importCertificate imports a certificate into the store as managed, the
// counterpart of Import-PfxCertificate with the "[MBN] " friendly name. A
// certificate the store already holds is left as it is (and reported with
// AlreadyPresent), so that importing never takes over a certificate an
// administrator installed.
func importCertificate(store certStore, args *ps.ImportCertificateArgs) (*ps.Certificate, error) {
	sources := 0
	if args.PfxPath != "" {
		sources++
	}
	if args.CertPath != "" || args.KeyPath != "" {
		sources++
	}
	if args.SelfSigned {
		sources++
	}
	if sources != 1 {
		return nil, invalidf("give exactly one certificate source: pfxPath, certPath with keyPath, or selfSigned")
	}
	var (
		c   *storedCert
		err error
	)
	switch {
	case args.PfxPath != "":
		c, err = loadPFX(args.PfxPath, args.Password)
	case args.SelfSigned:
		c, err = selfSigned(args.Hostname)
	default:
		c, err = loadPEM(args.CertPath, args.KeyPath)
	}
	if err != nil {
		return nil, err
	}
	if existing, err := store.get(c.Thumbprint); err == nil {
		return certificateResult(existing, true), nil
	}
	if err := store.put(c); err != nil {
		return nil, err
	}
	return certificateResult(c, false), nil
}

func certificateResult(c *storedCert, present bool) *ps.Certificate {
	return &ps.Certificate{
		Thumbprint:     c.Thumbprint,
		Subject:        c.Subject,
		NotAfter:       c.NotAfter,
		Managed:        c.managed(),
		AlreadyPresent: present,
	}
}

// readCertFile reads a certificate file: NotFound when missing,
// InvalidArgument when empty.
func readCertFile(field, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, notFoundf("%s: file %s does not exist", field, path)
	}
	if err != nil {
		return nil, invalidf("%s: %v", field, err)
	}
	if len(b) == 0 {
		return nil, invalidf("%s: file %s is empty", field, path)
	}
	return b, nil
}

func loadPFX(path, password string) (*storedCert, error) {
	b, err := readCertFile("pfxPath", path)
	if err != nil {
		return nil, err
	}
	key, leaf, cas, err := pkcs12.DecodeChain(b, password)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, invalidf("pfxPath: the password of %s is not correct", path)
	}
	if err != nil {
		return nil, invalidf("pfxPath: %s is not a PFX file with one certificate and its key: %v", path, err)
	}
	return newStoredCert(append([]*x509.Certificate{leaf}, cas...), key, managedPrefix+friendly(leaf))
}

func loadPEM(certPath, keyPath string) (*storedCert, error) {
	if certPath == "" || keyPath == "" {
		return nil, invalidf("certPath and keyPath go together (they may name the same file)")
	}
	certPEM, err := readCertFile("certPath", certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readCertFile("keyPath", keyPath)
	if err != nil {
		return nil, err
	}
	chain, err := parseCertificates(certPEM)
	if err != nil {
		return nil, fmt.Errorf("certPath: %w", err)
	}
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("keyPath: %w", err)
	}
	return newStoredCert(chain, key, managedPrefix+friendly(chain[0]))
}

// parseCertificates reads every CERTIFICATE block; the first is the leaf.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, invalidf("certificate %d: %v", len(chain)+1, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, invalidf("no PEM CERTIFICATE block found")
	}
	return chain, nil
}

// parsePrivateKey reads the first private key block: PKCS#8 ("PRIVATE
// KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY").
func parsePrivateKey(data []byte) (crypto.PrivateKey, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, invalidf("no unencrypted PEM private key found (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)")
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, invalidf("the private key is encrypted; give an unencrypted key or a PFX file with its password")
		}
		var (
			key crypto.PrivateKey
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, invalidf("%s: %v", strings.ToLower(block.Type), err)
		}
		return key, nil
	}
}

// selfSigned makes the certificate nomad-iis makes for use_self_signed:
// RSA-2048 with SHA-256, CN the hostname (or localhost), SANs the hostname,
// localhost and 127.0.0.1, server and client authentication, valid a year.
func selfSigned(hostname string) (*storedCert, error) {
	cn := strings.TrimSpace(hostname)
	if cn == "" {
		cn = "localhost"
	}
	if strings.ContainsAny(cn, " /\\,;:=+\"<>#") {
		return nil, invalidf("hostname: %q is not a host name", hostname)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	if ip := net.ParseIP(cn); ip != nil {
		if !ip.Equal(tmpl.IPAddresses[0]) {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		}
	} else if !strings.EqualFold(cn, "localhost") {
		tmpl.DNSNames = append([]string{cn}, tmpl.DNSNames...)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create self-signed certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("create self-signed certificate: %w", err)
	}
	return newStoredCert([]*x509.Certificate{leaf}, key, managedPrefix+"self-signed "+cn)
}

// friendly is the friendly name part of a certificate: its CN, else its subject.
func friendly(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return c.Subject.String()
}
