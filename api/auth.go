package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Capability is a permission a JWT grants, with the names of nomad-iis 0.20.
type Capability string

// The capabilities of nomad-iis 0.20, one per route family, plus a read/write
// split of FilesystemAccess.
const (
	CapStatus           Capability = "Status"
	CapFilesystemAccess Capability = "FilesystemAccess"
	CapAppPoolLifecycle Capability = "AppPoolLifecycle"
	CapScreenshots      Capability = "Screenshots"
	CapProcDump         Capability = "ProcDump"
	CapDebug            Capability = "Debug"
	// CapFilesystemRead and CapFilesystemWrite split FilesystemAccess for
	// tokens that should only download (or only deploy). FilesystemAccess
	// keeps granting both, as in nomad-iis.
	CapFilesystemRead  Capability = "FilesystemRead"
	CapFilesystemWrite Capability = "FilesystemWrite"
)

// JWT issuer and audience of nomad-iis 0.20 tokens.
const (
	JWTIssuer   = "NomadIIS"
	JWTAudience = "ManagementApi"
	// jwtLeeway tolerates clock skew between the token minter and this host.
	jwtLeeway = time.Minute
)

// Principal is an authenticated caller.
type Principal struct {
	// Kind is "api-key", "jwt" or "anonymous" (loopback without any key).
	Kind string
	// KeyIndex is the 1-based index of the API key used.
	KeyIndex int
	// Subject is the token's sub (or jti) claim, for the audit log.
	Subject string
	// Namespaces, JobNames, AllocIDs and Capabilities are the token's scope;
	// "*" matches anything. Unrestricted principals have all set to "*".
	Namespaces, JobNames, AllocIDs, Capabilities []string
}

var anyValue = []string{"*"}

func unrestricted(kind string, keyIndex int) *Principal {
	return &Principal{Kind: kind, KeyIndex: keyIndex, Namespaces: anyValue, JobNames: anyValue, AllocIDs: anyValue, Capabilities: anyValue}
}

func matches(allowed []string, v string) bool {
	return slices.Contains(allowed, "*") || slices.Contains(allowed, v)
}

// Can reports whether p holds capability c.
func (p *Principal) Can(c Capability) bool { return matches(p.Capabilities, string(c)) }

// MayAlloc reports whether p's allocId claim covers allocID.
func (p *Principal) MayAlloc(allocID string) bool { return matches(p.AllocIDs, allocID) }

// MayTask reports whether p's namespace and jobName claims cover t.
func (p *Principal) MayTask(t Task) bool {
	return p.MayAlloc(t.AllocID) && matches(p.Namespaces, t.Namespace) && matches(p.JobNames, t.JobName)
}

// Unscoped reports whether p sees every namespace, job and allocation.
func (p *Principal) Unscoped() bool {
	return slices.Contains(p.Namespaces, "*") && slices.Contains(p.JobNames, "*") && slices.Contains(p.AllocIDs, "*")
}

// String identifies p for logs without any secret.
func (p *Principal) String() string {
	switch p.Kind {
	case "api-key":
		return fmt.Sprintf("api-key#%d", p.KeyIndex)
	case "jwt":
		s := "jwt"
		if p.Subject != "" {
			s += " sub=" + p.Subject
		}
		return fmt.Sprintf("%s namespace=%s job=%s alloc=%s", s,
			strings.Join(p.Namespaces, ","), strings.Join(p.JobNames, ","), strings.Join(p.AllocIDs, ","))
	}
	return p.Kind
}

// authenticator checks the credentials of a request.
type authenticator struct {
	// keys are SHA-256 digests of the API keys: comparing fixed-length
	// digests in constant time leaks neither content nor length.
	keys   [][sha256.Size]byte
	secret []byte
	parser *jwt.Parser
	// open is true when neither keys nor a secret are configured: the API
	// then serves loopback callers only, without credentials.
	open bool
}

func newAuthenticator(cfg Config) *authenticator {
	a := &authenticator{secret: cfg.JWTSecret}
	for _, k := range cfg.APIKeys {
		a.keys = append(a.keys, sha256.Sum256([]byte(k)))
	}
	a.open = len(a.keys) == 0 && len(a.secret) == 0
	a.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(JWTIssuer),
		jwt.WithAudience(JWTAudience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(jwtLeeway),
	)
	return a
}

// unauthenticatedMessage is the detail of every 401. It is the same
// whatever failed and however the API is configured, so that it tells an
// anonymous caller nothing; the reason goes to the log (the error's Err).
const unauthenticatedMessage = "missing or invalid credentials: send the X-Api-Key header or Authorization: Bearer <JWT>"

var errUnauthenticated = &APIError{HTTPStatus: http.StatusUnauthorized, Message: unauthenticatedMessage}

// unauthenticated is a 401 whose reason is logged, never sent.
func unauthenticated(reason string, cause error) *APIError {
	err := errors.New(reason)
	if cause != nil {
		err = fmt.Errorf("%s: %w", reason, cause)
	}
	return &APIError{HTTPStatus: http.StatusUnauthorized, Message: unauthenticatedMessage, Err: err}
}

// acceptsBearer reports whether a JWT secret is configured; only then does
// a 401 invite a bearer token (WWW-Authenticate).
func (a *authenticator) acceptsBearer() bool { return len(a.secret) > 0 }

// authenticate returns the caller of r, or a 401 *APIError.
func (a *authenticator) authenticate(r *http.Request) (*Principal, error) {
	key := r.Header.Get("X-Api-Key")
	authz := r.Header.Get("Authorization")
	switch {
	case a.open:
		if !isLoopbackRemote(r.RemoteAddr) {
			return nil, unauthenticated("no key is configured and the caller is not on loopback", nil)
		}
		return unrestricted("anonymous", 0), nil
	case key != "":
		if i := a.matchKey(key); i > 0 {
			return unrestricted("api-key", i), nil
		}
		return nil, unauthenticated("the X-Api-Key header does not match a configured key", nil)
	case authz != "":
		return a.bearer(authz)
	}
	return nil, errUnauthenticated
}

// matchKey returns the 1-based index of the key equal to k, or 0. Every key
// is compared, so the time taken does not depend on which one matched.
func (a *authenticator) matchKey(k string) int {
	d := sha256.Sum256([]byte(k))
	found := 0
	for i := range a.keys {
		if subtle.ConstantTimeCompare(d[:], a.keys[i][:]) == 1 {
			found = i + 1
		}
	}
	return found
}

func (a *authenticator) bearer(authz string) (*Principal, error) {
	scheme, token, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, unauthenticated(`the Authorization header is not "Bearer <JWT>"`, nil)
	}
	if !a.acceptsBearer() {
		return nil, unauthenticated("a bearer token, but no JWT secret is configured ("+FlagJWTSecret+")", nil)
	}
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(strings.TrimSpace(token), claims, func(*jwt.Token) (any, error) { return a.secret, nil })
	if err != nil {
		return nil, unauthenticated("the bearer token is not valid ("+jwtReason(err)+")", err)
	}
	p := &Principal{
		Kind:         "jwt",
		Namespaces:   claimList(claims["namespace"]),
		JobNames:     claimList(claims["jobName"]),
		AllocIDs:     claimList(claims["allocId"]),
		Capabilities: claimList(claims["capabilities"]),
	}
	if sub, ok := claims["sub"].(string); ok {
		p.Subject = sub
	} else if jti, ok := claims["jti"].(string); ok {
		p.Subject = "jti:" + jti
	}
	return p, nil
}

// jwtReason is a short, secret-free reason for a refused token.
func jwtReason(err error) string {
	for _, e := range []struct {
		err error
		msg string
	}{
		{jwt.ErrTokenExpired, "expired"},
		{jwt.ErrTokenRequiredClaimMissing, "a required claim (exp) is missing"},
		{jwt.ErrTokenInvalidIssuer, "wrong issuer"},
		{jwt.ErrTokenInvalidAudience, "wrong audience"},
		{jwt.ErrTokenNotValidYet, "not valid yet"},
		{jwt.ErrTokenSignatureInvalid, "bad signature"},
		{jwt.ErrTokenUnverifiable, "wrong algorithm"},
		{jwt.ErrTokenMalformed, "malformed"},
	} {
		if errors.Is(err, e.err) {
			return e.msg
		}
	}
	return "invalid"
}

// claimList reads a claim that is a string or a list of strings (nomad-iis
// tokens carry single strings for the scope and a list of capabilities).
func claimList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// isLoopbackRemote reports whether a request's RemoteAddr is a loopback address.
func isLoopbackRemote(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
