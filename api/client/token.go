package client

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The JWT issuer and audience the API requires (those of nomad-iis 0.20).
const (
	JWTIssuer   = "NomadIIS"
	JWTAudience = "ManagementApi"
	// MinJWTSecretBytes is the shortest secret the API accepts.
	MinJWTSecretBytes = 32
)

// Capabilities are the capability names a token may grant, as the API
// spells them; "*" grants all.
var Capabilities = []string{
	"Status", "FilesystemAccess", "FilesystemRead", "FilesystemWrite",
	"AppPoolLifecycle", "Screenshots", "ProcDump", "Debug",
}

// TokenClaims is the scope of a token. Each list holds names or "*"; an
// empty list matches nothing on the API side, so each must be set.
type TokenClaims struct {
	// Subject is the sub claim, written to the API's audit log.
	Subject      string
	Namespaces   []string
	JobNames     []string
	AllocIDs     []string
	Capabilities []string
	// TTL is how long the token is valid from IssuedAt.
	TTL time.Duration
	// IssuedAt is the iat and nbf claims (default: now).
	IssuedAt time.Time
}

// Validate checks c and names the field at fault.
func (c TokenClaims) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    []string
	}{{"namespace", c.Namespaces}, {"job", c.JobNames}, {"alloc", c.AllocIDs}, {"capabilities", c.Capabilities}} {
		if len(f.v) == 0 {
			errs = append(errs, fmt.Errorf("%s: empty (a token without it reaches nothing; use \"*\" for any)", f.name))
		}
		for _, s := range f.v {
			if strings.TrimSpace(s) == "" {
				errs = append(errs, fmt.Errorf("%s: an empty value", f.name))
			}
		}
	}
	for _, cp := range c.Capabilities {
		if cp != "*" && !slices.Contains(Capabilities, cp) {
			errs = append(errs, fmt.Errorf("capabilities: %q is not one of %s or *", cp, strings.Join(Capabilities, ", ")))
		}
	}
	if c.TTL <= 0 {
		errs = append(errs, fmt.Errorf("ttl: %s is not positive", c.TTL))
	}
	return errors.Join(errs...)
}

// MintToken signs a token with the claims c (HS256, the API's issuer and
// audience, exp = iat + TTL). A scope of one value is written as a string,
// as nomad-iis 0.20 tokens are; several as a list.
func MintToken(secret []byte, c TokenClaims) (string, error) {
	if len(secret) < MinJWTSecretBytes {
		return "", fmt.Errorf("secret: %d bytes; the API accepts secrets of at least %d bytes", len(secret), MinJWTSecretBytes)
	}
	if err := c.Validate(); err != nil {
		return "", err
	}
	iat := c.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	claims := jwt.MapClaims{
		"iss":          JWTIssuer,
		"aud":          JWTAudience,
		"iat":          iat.Unix(),
		"nbf":          iat.Unix(),
		"exp":          iat.Add(c.TTL).Unix(),
		"namespace":    scope(c.Namespaces),
		"jobName":      scope(c.JobNames),
		"allocId":      scope(c.AllocIDs),
		"capabilities": c.Capabilities,
	}
	if c.Subject != "" {
		claims["sub"] = c.Subject
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("sign the token: %w", err)
	}
	return s, nil
}

func scope(v []string) any {
	if len(v) == 1 {
		return v[0]
	}
	return v
}
