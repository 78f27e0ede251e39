package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/playwright-community/playwright-go"
)

// EnvPlaywrightDriver is read when Config.PlaywrightDriverDir is empty
// (playwright-go's own variable).
const EnvPlaywrightDriver = "PLAYWRIGHT_DRIVER_PATH"

// browserPool keeps one headless browser warm for screenshots: launched on
// first use, relaunched if it died, shared by requests that each get their
// own browser context. Nothing is ever downloaded: the Playwright driver and
// the browser must be installed on the host.
type browserPool struct {
	cfg Config
	log hclog.Logger
	sem chan struct{}

	// mu guards pw, browser and closed.
	mu      sync.Mutex
	pw      *playwright.Playwright
	browser playwright.Browser
	closed  bool
}

func newBrowserPool(cfg Config, log hclog.Logger) *browserPool {
	return &browserPool{cfg: cfg, log: log, sem: make(chan struct{}, cfg.ScreenshotConcurrency)}
}

// errBrowser is a screenshot that cannot be taken on this host.
func errBrowser(format string, args ...any) *APIError {
	return &APIError{HTTPStatus: http.StatusServiceUnavailable, Message: "screenshots are unavailable: " + fmt.Sprintf(format, args...)}
}

// driverDir is the Playwright driver directory to use.
func (b *browserPool) driverDir() string {
	if b.cfg.PlaywrightDriverDir != "" {
		return b.cfg.PlaywrightDriverDir
	}
	return os.Getenv(EnvPlaywrightDriver)
}

// get returns the running browser, launching it if needed.
func (b *browserPool) get() (playwright.Browser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errBrowser("the API is shutting down")
	}
	if b.browser != nil && b.browser.IsConnected() {
		return b.browser, nil
	}
	if b.browser != nil {
		_ = b.browser.Close()
		b.browser = nil
	}
	if b.pw == nil {
		dir := b.driverDir()
		if dir == "" {
			return nil, errBrowser("no Playwright driver directory; set %s or %s (it holds \"node\" and \"package\" from npm playwright-core@1.52.0)", FlagPlaywrightDriver, EnvPlaywrightDriver)
		}
		if _, err := os.Stat(filepath.Join(dir, "package", "cli.js")); err != nil {
			return nil, errBrowser("the Playwright driver directory %s has no package/cli.js (install npm playwright-core@1.52.0 there)", dir)
		}
		pw, err := playwright.Run(&playwright.RunOptions{
			DriverDirectory:     dir,
			SkipInstallBrowsers: true,
			Verbose:             false,
			Stdout:              io.Discard,
			Stderr:              b.log.StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
			Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			return nil, errBrowser("start the Playwright driver in %s: %v", dir, err)
		}
		b.pw = pw
	}
	exe := b.cfg.ScreenshotBrowserPath
	if exe == "" {
		exe = findBrowser()
	}
	if exe == "" {
		return nil, errBrowser("no Chromium, Chrome or Edge found; set %s", FlagBrowser)
	}
	args := []string{"--headless", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--mute-audio"}
	if runtime.GOOS != "windows" {
		// The plugin runs as root on Linux hosts, where Chromium's sandbox refuses to start.
		args = append(args, "--no-sandbox")
	}
	if !b.cfg.ScreenshotAllowRemote {
		// Every host name resolves to loopback: a binding's host name reaches
		// the task's own site, and nothing else is reachable by name.
		args = append(args, "--host-resolver-rules=MAP * 127.0.0.1")
	}
	start := time.Now()
	browser, err := b.pw.Chromium.Launch(playwright.BrowserTypeLaunchOptions{
		ExecutablePath: &exe,
		Headless:       playwright.Bool(true),
		Args:           args,
		Timeout:        playwright.Float(float64(b.cfg.ScreenshotTimeout.Milliseconds())),
	})
	if err != nil {
		// The driver may be the broken part: start afresh next time.
		_ = b.pw.Stop()
		b.pw = nil
		return nil, errBrowser("launch %s: %v", exe, err)
	}
	b.log.Info("browser started", "executable", exe, "duration_ms", time.Since(start).Milliseconds())
	b.browser = browser
	return browser, nil
}

// shotTarget is what to photograph.
type shotTarget struct {
	URL string
	// Origin is scheme://host:port of URL; only it is reachable unless remote
	// resources are allowed.
	Origin string
}

// screenshot loads target in a fresh browser context and returns a
// full-page PNG. It waits for a free slot at most until ctx is done.
func (b *browserPool) screenshot(ctx context.Context, target shotTarget) ([]byte, error) {
	select {
	case b.sem <- struct{}{}:
		defer func() { <-b.sem }()
	case <-ctx.Done():
		return nil, &APIError{HTTPStatus: http.StatusTooManyRequests, RetryAfter: 5 * time.Second,
			Message: fmt.Sprintf("%d screenshots are already being taken; retry later", cap(b.sem))}
	}
	browser, err := b.get()
	if err != nil {
		return nil, err
	}
	remaining := func() *float64 {
		d, ok := ctx.Deadline()
		if !ok {
			return playwright.Float(float64(b.cfg.ScreenshotTimeout.Milliseconds()))
		}
		return playwright.Float(float64(max(time.Until(d).Milliseconds(), 1)))
	}
	bctx, err := browser.NewContext(playwright.BrowserNewContextOptions{
		Viewport:          &playwright.Size{Width: 1920, Height: 1080},
		Screen:            &playwright.Size{Width: 1920, Height: 1080},
		IgnoreHttpsErrors: playwright.Bool(true),
		AcceptDownloads:   playwright.Bool(false),
	})
	if err != nil {
		return nil, fmt.Errorf("open a browser context: %w", err)
	}
	defer bctx.Close()
	if !b.cfg.ScreenshotAllowRemote {
		err := bctx.Route("**/*", func(route playwright.Route) {
			if sameOrigin(route.Request().URL(), target.Origin) {
				_ = route.Continue()
				return
			}
			_ = route.Abort("blockedbyclient")
		})
		if err != nil {
			return nil, fmt.Errorf("install the request filter: %w", err)
		}
	}
	page, err := bctx.NewPage()
	if err != nil {
		return nil, fmt.Errorf("open a page: %w", err)
	}
	if _, err := page.Goto(target.URL, playwright.PageGotoOptions{Timeout: remaining(), WaitUntil: playwright.WaitUntilStateLoad}); err != nil {
		if errors.Is(err, playwright.ErrTimeout) {
			return nil, &APIError{HTTPStatus: http.StatusGatewayTimeout, Err: err, Message: fmt.Sprintf("the page %s did not load within %s", target.URL, b.cfg.ScreenshotTimeout)}
		}
		return nil, &APIError{HTTPStatus: http.StatusBadGateway, Err: err, Message: fmt.Sprintf("the page %s could not be loaded: %v", target.URL, firstLine(err.Error()))}
	}
	png, err := page.Screenshot(playwright.PageScreenshotOptions{FullPage: playwright.Bool(true), Type: playwright.ScreenshotTypePng, Timeout: remaining()})
	if err != nil {
		return nil, fmt.Errorf("take the screenshot: %w", err)
	}
	return png, nil
}

// Close stops the browser and the Playwright driver.
func (b *browserPool) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	var errs []error
	if b.browser != nil {
		errs = append(errs, b.browser.Close())
		b.browser = nil
	}
	if b.pw != nil {
		errs = append(errs, b.pw.Stop())
		b.pw = nil
	}
	return errors.Join(errs...)
}

// sameOrigin reports whether the URL raw has the scheme, host and port of
// origin (a browser drops the default port from URLs).
func sameOrigin(raw, origin string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	o, err := url.Parse(origin)
	if err != nil {
		return false
	}
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if strings.EqualFold(u.Scheme, "https") {
			return "443"
		}
		return "80"
	}
	return strings.EqualFold(u.Scheme, o.Scheme) && strings.EqualFold(u.Hostname(), o.Hostname()) && port(u) == port(o)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// findBrowser looks for a Chromium-based browser in the usual places.
func findBrowser() string {
	var candidates []string
	if runtime.GOOS == "windows" {
		for _, env := range []string{"ProgramFiles(x86)", "ProgramFiles", "LocalAppData"} {
			base := os.Getenv(env)
			if base == "" {
				continue
			}
			candidates = append(candidates,
				filepath.Join(base, "Microsoft", "Edge", "Application", "msedge.exe"),
				filepath.Join(base, "Google", "Chrome", "Application", "chrome.exe"))
		}
	} else {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "microsoft-edge"} {
			if p, err := exec.LookPath(name); err == nil {
				candidates = append(candidates, p)
			}
		}
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
			return c
		}
	}
	return ""
}
