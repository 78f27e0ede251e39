//go:build !windows

package iissim

import (
	"crypto"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// managedPrefix marks a certificate's friendly name as Managed By Nomad:
// only such certificates are ever removed by the driver.
const managedPrefix = "[MBN] "

// storedCert is one certificate of iissim's machine store, the counterpart
// of an entry of Cert:\LocalMachine\My: the chain (leaf first) and its
// private key, kept as PEM in one JSON file readable by its owner only.
type storedCert struct {
	Thumbprint   string    `json:"thumbprint"`
	FriendlyName string    `json:"friendlyName"`
	Subject      string    `json:"subject"`
	NotAfter     time.Time `json:"notAfter"`
	// ChainPEM holds the CERTIFICATE blocks, leaf first.
	ChainPEM string `json:"chainPem"`
	// KeyPEM holds the PKCS#8 PRIVATE KEY block.
	KeyPEM     string    `json:"keyPem"`
	ImportedAt time.Time `json:"importedAt"`
}

// managed reports whether the driver may remove the certificate.
func (c *storedCert) managed() bool { return strings.HasPrefix(c.FriendlyName, managedPrefix) }

// tlsCertificate returns the chain and key for a TLS server.
func (c *storedCert) tlsCertificate() (*tls.Certificate, error) {
	cert, err := tls.X509KeyPair([]byte(c.ChainPEM), []byte(c.KeyPEM))
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", c.Thumbprint, err)
	}
	return &cert, nil
}

// certStore is the machine store: one file per certificate in a directory.
// It is read from disk on every lookup, so that a certificate installed by
// another process (AddCertificate) is seen at once.
type certStore struct {
	dir string
}

func (s certStore) path(thumbprint string) string {
	return filepath.Join(s.dir, thumbprint+".json")
}

// get loads a certificate; NotFound when the store does not hold it.
func (s certStore) get(thumbprint string) (*storedCert, error) {
	b, err := os.ReadFile(s.path(thumbprint))
	if errors.Is(err, os.ErrNotExist) {
		return nil, notFoundf("certificate %s is not in the certificate store", thumbprint)
	}
	if err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", thumbprint, err)
	}
	var c storedCert
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", thumbprint, err)
	}
	return &c, nil
}

// has reports whether the store holds a certificate.
func (s certStore) has(thumbprint string) bool {
	_, err := os.Stat(s.path(thumbprint))
	return err == nil
}

// put writes a certificate.
func (s certStore) put(c *storedCert) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("certificate store: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode certificate %s: %w", c.Thumbprint, err)
	}
	return writeFileAtomic(s.path(c.Thumbprint), b, 0o600)
}

// remove deletes a certificate; a missing one is not an error.
func (s certStore) remove(thumbprint string) error {
	err := os.Remove(s.path(thumbprint))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove certificate %s: %w", thumbprint, err)
	}
	return nil
}

// thumbprintOf is Windows's thumbprint: the upper-case hex SHA-1 of the DER.
func thumbprintOf(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// normalizeThumbprint strips what is not a hex digit (spaces and the
// invisible marks copied from the Windows certificate dialog) and upper-cases
// the rest, as nomad-iis does.
func normalizeThumbprint(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'A' && r <= 'F':
			b.WriteRune(r)
		case r >= 'a' && r <= 'f':
			b.WriteRune(r - 'a' + 'A')
		}
	}
	return b.String()
}

// newStoredCert builds a store entry from a chain and its key, checking
// that the key belongs to the leaf.
func newStoredCert(chain []*x509.Certificate, key crypto.PrivateKey, friendlyName string) (*storedCert, error) {
	if len(chain) == 0 {
		return nil, invalidf("no certificate found")
	}
	leaf := chain[0]
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, invalidf("unsupported private key type %T", key)
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(signer.Public()) {
		return nil, invalidf("the private key does not belong to the certificate %q", leaf.Subject.String())
	}
	switch leaf.PublicKeyAlgorithm {
	case x509.RSA, x509.ECDSA:
	default:
		return nil, invalidf("unsupported key algorithm %s (Windows TLS accepts RSA and ECDSA)", leaf.PublicKeyAlgorithm)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, invalidf("encode private key: %v", err)
	}
	var chainPEM strings.Builder
	for _, c := range chain {
		_ = pem.Encode(&chainPEM, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return &storedCert{
		Thumbprint:   thumbprintOf(leaf),
		FriendlyName: friendlyName,
		Subject:      leaf.Subject.String(),
		NotAfter:     leaf.NotAfter.UTC(),
		ChainPEM:     chainPEM.String(),
		KeyPEM:       string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		ImportedAt:   time.Now().UTC(),
	}, nil
}

// AddCertificate installs a certificate into the machine store of the
// iissim whose state is in stateDir, as an administrator would with
// certutil or Import-PfxCertificate: the certificate is not marked as
// managed unless friendlyName starts with "[MBN] ". certPEM holds the chain
// (leaf first); keyPEM its private key (PKCS#8, PKCS#1 or SEC 1). It returns
// the thumbprint. Tests use it to stand for a pre-installed certificate.
func AddCertificate(stateDir string, certPEM, keyPEM []byte, friendlyName string) (string, error) {
	chain, err := parseCertificates(certPEM)
	if err != nil {
		return "", err
	}
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return "", err
	}
	c, err := newStoredCert(chain, key, friendlyName)
	if err != nil {
		return "", err
	}
	dir, err := absStateDir(stateDir)
	if err != nil {
		return "", err
	}
	if err := (certStore{dir: layout{dir: dir}.certsDir()}).put(c); err != nil {
		return "", err
	}
	return c.Thumbprint, nil
}
