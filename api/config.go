package api

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Command-line flags of the Management API. The first three are those of
// nomad-iis 0.20, so existing agent configurations keep working; Config's
// validation errors name these flags.
const (
	FlagPort              = "--management-api-port"
	FlagKey               = "--management-api-key"
	FlagJWTSecret         = "--management-api-jwt-secret"
	FlagBind              = "--management-api-bind"
	FlagTLSCert           = "--management-api-tls-cert"
	FlagTLSKey            = "--management-api-tls-key"
	FlagMaxUpload         = "--management-api-max-upload-bytes"
	FlagMaxZipEntries     = "--management-api-max-zip-entries"
	FlagMaxZipBytes       = "--management-api-max-zip-bytes"
	FlagMaxZipRatio       = "--management-api-max-zip-ratio"
	FlagBrowser           = "--management-api-browser"
	FlagPlaywrightDriver  = "--management-api-playwright-driver"
	FlagScreenshotTimeout = "--management-api-screenshot-timeout"
	FlagScreenshotLimit   = "--management-api-screenshot-concurrency"
	FlagGcore             = "--management-api-gcore"
	FlagDeployKeep        = "--management-api-deploy-keep-versions"
)

// Defaults of Config.
const (
	DefaultBind                  = "127.0.0.1"
	DefaultMaxUploadBytes        = 2 << 30
	DefaultPoolStopTimeout       = 90 * time.Second
	DefaultRequestTimeout        = 2 * time.Minute
	DefaultTransferIdleTimeout   = 2 * time.Minute
	DefaultScreenshotTimeout     = 30 * time.Second
	DefaultScreenshotConcurrency = 2
	DefaultMaxZipStreams         = 4
	DefaultStatusCacheTTL        = time.Second
	DefaultDeployKeepVersions    = 2
	// MaxDeployKeepVersions bounds FlagDeployKeep.
	MaxDeployKeepVersions = 100
	// MinJWTSecretBytes is the HS256 key size nomad-iis (.NET) required too.
	MinJWTSecretBytes = 32
)

// Config configures the Management API.
type Config struct {
	// Port is the TCP port (FlagPort). 0 leaves the API off for
	// ListenAndServe; Serve works with any listener.
	Port int
	// Bind is the address to listen on (FlagBind). Default 127.0.0.1: remote
	// callers need an explicit address such as 0.0.0.0, and then a key or a
	// JWT secret (the API refuses to listen beyond loopback without one).
	Bind string
	// APIKeys are accepted in the X-Api-Key header (FlagKey, repeatable, so
	// that a key can be rotated). Compared in constant time; never logged.
	APIKeys []string
	// JWTSecret is the HS256 key of bearer tokens (FlagJWTSecret), at least
	// MinJWTSecretBytes long.
	JWTSecret []byte
	// TLSCertFile and TLSKeyFile enable HTTPS (FlagTLSCert, FlagTLSKey).
	TLSCertFile string
	TLSKeyFile  string

	// MaxUploadBytes bounds a PUT/PATCH body (FlagMaxUpload). Default 2 GiB.
	MaxUploadBytes int64
	// MaxZipEntries, MaxZipBytes and MaxZipRatio bound an uploaded archive:
	// its entry count, the sum of its declared uncompressed sizes and its
	// compression ratio. Defaults 10000, 8 GiB and 200.
	MaxZipEntries int
	MaxZipBytes   uint64
	MaxZipRatio   float64
	// MaxZipStreams bounds concurrent folder downloads (default 4); more get 429.
	MaxZipStreams int

	// PoolStopTimeout bounds how long a stop (PUT upload, PUT …/stop) waits
	// for the pool's worker processes to exit. Default 90 s, IIS's default
	// shutdownTimeLimit.
	PoolStopTimeout time.Duration
	// RequestTimeout bounds the routes that do not transfer files.
	RequestTimeout time.Duration
	// TransferIdleTimeout aborts an upload or download that makes no progress
	// for this long. Transfers as such have no time limit.
	TransferIdleTimeout time.Duration

	// ScreenshotBrowserPath is the Chromium, Chrome or Edge executable
	// (FlagBrowser). Default: the first one found in the usual places.
	ScreenshotBrowserPath string
	// PlaywrightDriverDir holds the Playwright driver ("node" and "package");
	// default $PLAYWRIGHT_DRIVER_PATH (FlagPlaywrightDriver). Nothing is ever
	// downloaded.
	PlaywrightDriverDir string
	// ScreenshotTimeout bounds one screenshot (default 30 s).
	ScreenshotTimeout time.Duration
	// ScreenshotConcurrency bounds concurrent screenshots (default 2).
	ScreenshotConcurrency int
	// ScreenshotAllowRemote lets the page load resources from hosts other than
	// the task's own site. Off by default: the browser runs on the host with
	// the plugin's rights, and a page must not make it fetch arbitrary URLs.
	ScreenshotAllowRemote bool

	// ProcdumpSource supplies the driver's procdump block at each dump (the
	// driver receives its configuration after the API has started). On
	// Windows, procdump.exe at binaryPath is used when acceptEula is set and
	// the file exists; otherwise, or when ProcdumpSource is nil, the dump is
	// written natively with MiniDumpWriteDump.
	ProcdumpSource func() (binaryPath string, acceptEula bool)
	// GcorePath is gdb's gcore, used for dumps on iissim (default: from PATH).
	GcorePath string
	// DumpDir receives dumps before they are streamed (default: the OS temp dir).
	DumpDir string

	// StatusCacheTTL is how long pool states are reused between requests
	// (default 1 s). Start, stop, recycle and uploads invalidate it.
	StatusCacheTTL time.Duration

	// DeployKeepVersions is how many earlier versions a zero-downtime
	// deploy keeps per application directory for a rollback, besides the
	// current one and the job's own folder (FlagDeployKeep, default 2,
	// 1 to MaxDeployKeepVersions); older ones are removed after a switch.
	DeployKeepVersions int

	// AuditLogger receives one line per mutation; default: the API's logger
	// named "audit".
	AuditLogger hclog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.Bind = cmp.Or(c.Bind, DefaultBind)
	c.MaxUploadBytes = cmp.Or(c.MaxUploadBytes, DefaultMaxUploadBytes)
	c.MaxZipStreams = cmp.Or(c.MaxZipStreams, DefaultMaxZipStreams)
	c.PoolStopTimeout = cmp.Or(c.PoolStopTimeout, DefaultPoolStopTimeout)
	c.RequestTimeout = cmp.Or(c.RequestTimeout, DefaultRequestTimeout)
	c.TransferIdleTimeout = cmp.Or(c.TransferIdleTimeout, DefaultTransferIdleTimeout)
	c.ScreenshotTimeout = cmp.Or(c.ScreenshotTimeout, DefaultScreenshotTimeout)
	c.ScreenshotConcurrency = cmp.Or(c.ScreenshotConcurrency, DefaultScreenshotConcurrency)
	c.StatusCacheTTL = cmp.Or(c.StatusCacheTTL, DefaultStatusCacheTTL)
	c.DeployKeepVersions = cmp.Or(c.DeployKeepVersions, DefaultDeployKeepVersions)
	return c
}

// Validate checks c (after defaults) and names the flag at fault.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", flag, fmt.Sprintf(format, args...)))
	}
	if c.Port < 0 || c.Port > 65535 {
		bad(FlagPort, "%d is not a TCP port (1-65535)", c.Port)
	}
	if !validBind(c.Bind) {
		bad(FlagBind, "%q is not an IP address or \"localhost\"", c.Bind)
	}
	for i, k := range c.APIKeys {
		if strings.TrimSpace(k) == "" {
			bad(FlagKey, "key #%d is empty", i+1)
		}
	}
	if len(c.JWTSecret) > 0 && len(c.JWTSecret) < MinJWTSecretBytes {
		bad(FlagJWTSecret, "the secret has %d bytes; HS256 needs at least %d", len(c.JWTSecret), MinJWTSecretBytes)
	}
	if len(c.APIKeys) == 0 && len(c.JWTSecret) == 0 && !IsLoopback(c.Bind) {
		bad(FlagBind, "the API would listen on %s without authentication; set %s or %s, or bind to 127.0.0.1",
			c.Bind, FlagKey, FlagJWTSecret)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad(FlagTLSCert, "%s and %s go together", FlagTLSCert, FlagTLSKey)
	}
	if c.MaxUploadBytes < 0 {
		bad(FlagMaxUpload, "must be positive")
	}
	if c.MaxZipEntries < 0 {
		bad(FlagMaxZipEntries, "must be positive")
	}
	if c.MaxZipRatio < 0 {
		bad(FlagMaxZipRatio, "must be positive")
	}
	if c.ScreenshotTimeout < 0 {
		bad(FlagScreenshotTimeout, "must be positive")
	}
	if c.ScreenshotConcurrency < 0 {
		bad(FlagScreenshotLimit, "must be positive")
	}
	if c.DeployKeepVersions < 1 || c.DeployKeepVersions > MaxDeployKeepVersions {
		bad(FlagDeployKeep, "%d is not between 1 and %d", c.DeployKeepVersions, MaxDeployKeepVersions)
	}
	if c.StatusCacheTTL < 0 || c.PoolStopTimeout < 0 || c.RequestTimeout < 0 || c.TransferIdleTimeout < 0 || c.MaxZipStreams < 0 {
		errs = append(errs, errors.New("management API: durations and limits must not be negative"))
	}
	return errors.Join(errs...)
}

// Addr is the host:port ListenAndServe listens on.
func (c Config) Addr() string {
	c = c.withDefaults()
	return net.JoinHostPort(c.Bind, fmt.Sprint(c.Port))
}

func validBind(b string) bool {
	return b == "localhost" || net.ParseIP(b) != nil
}

// IsLoopback reports whether addr (an IP or "localhost") is a loopback address.
func IsLoopback(addr string) bool {
	if addr == "localhost" {
		return true
	}
	ip := net.ParseIP(addr)
	return ip != nil && ip.IsLoopback()
}
