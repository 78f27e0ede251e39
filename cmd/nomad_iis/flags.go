package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nomad-iis/nomad-iis/api"
	"github.com/nomad-iis/nomad-iis/version"
)

// Environment variables that may carry the Management API's secrets instead
// of the command line, where every local user can read them.
const (
	envAPIKey    = "NOMAD_IIS_MANAGEMENT_API_KEY"
	envJWTSecret = "NOMAD_IIS_MANAGEMENT_API_JWT_SECRET"
)

// options are the plugin's command-line arguments (plugin "nomad_iis" {
// args = [...] }). Both "--flag=value" and "--flag value" work.
type options struct {
	// port is nomad-iis's gRPC port; Nomad's go-plugin handshake picks the
	// port here, so it is accepted and ignored.
	port int
	// api is the Management API's configuration, as the flags give it; a
	// zero field keeps the API's default. Port 0 leaves the API off.
	api api.Config
	// version asks for the version instead of serving the plugin; main
	// also answers it first, before anything else (versionRequested).
	version bool
}

// listFlag collects a repeatable, comma-separated string flag.
type listFlag struct{ values *[]string }

func (l listFlag) String() string {
	if l.values == nil {
		return ""
	}
	return strings.Join(*l.values, ",")
}

func (l listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l.values = append(*l.values, s)
		}
	}
	return nil
}

// bytesFlag is a string flag kept as bytes (a secret).
type bytesFlag struct{ value *[]byte }

func (b bytesFlag) String() string {
	if b.value == nil {
		return ""
	}
	return string(*b.value)
}

func (b bytesFlag) Set(v string) error {
	*b.value = []byte(v)
	return nil
}

// flagName is the name of an api.Flag… constant as package flag spells it.
func flagName(f string) string { return strings.TrimPrefix(f, "--") }

// parseArgs parses the plugin's arguments; getenv supplies the secrets'
// environment variables.
func parseArgs(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("nomad_iis", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.version, "version", false, "print \"nomad_iis <version>\" and exit")
	fs.IntVar(&o.port, "port", 0, "ignored; accepted for nomad-iis compatibility (the plugin port is negotiated by Nomad)")
	fs.IntVar(&o.api.Port, flagName(api.FlagPort), 0, "TCP port of the Management API; 0 (the default) leaves it off")
	fs.Var(listFlag{&o.api.APIKeys}, flagName(api.FlagKey), "API key accepted in the X-Api-Key header; repeat or separate with commas for several (or set "+envAPIKey+")")
	fs.Var(bytesFlag{&o.api.JWTSecret}, flagName(api.FlagJWTSecret), "HS256 secret of JWT bearer tokens (or set "+envJWTSecret+")")
	fs.StringVar(&o.api.Bind, flagName(api.FlagBind), "", "listen address of the Management API (default 127.0.0.1 without a key or secret, else 0.0.0.0)")
	fs.StringVar(&o.api.TLSCertFile, flagName(api.FlagTLSCert), "", "PEM certificate (chain) for HTTPS")
	fs.StringVar(&o.api.TLSKeyFile, flagName(api.FlagTLSKey), "", "PEM private key for HTTPS")
	fs.Int64Var(&o.api.MaxUploadBytes, flagName(api.FlagMaxUpload), 0, "largest accepted upload in bytes (default 2 GiB)")
	fs.StringVar(&o.api.ScreenshotBrowserPath, flagName(api.FlagBrowser), "", "Chromium, Chrome or Edge executable for screenshots (default: the first one found)")
	fs.StringVar(&o.api.PlaywrightDriverDir, flagName(api.FlagPlaywrightDriver), "", "Playwright driver directory for screenshots (default $PLAYWRIGHT_DRIVER_PATH)")
	fs.IntVar(&o.api.MaxZipEntries, flagName(api.FlagMaxZipEntries), 0, "most entries an uploaded archive may hold (default 10000)")
	fs.Uint64Var(&o.api.MaxZipBytes, flagName(api.FlagMaxZipBytes), 0, "largest total uncompressed size of an uploaded archive in bytes (default 8 GiB)")
	fs.Float64Var(&o.api.MaxZipRatio, flagName(api.FlagMaxZipRatio), 0, "highest compression ratio of an uploaded archive (default 200)")
	fs.DurationVar(&o.api.ScreenshotTimeout, flagName(api.FlagScreenshotTimeout), 0, "time limit of one screenshot, such as 30s (default 30s)")
	fs.IntVar(&o.api.ScreenshotConcurrency, flagName(api.FlagScreenshotLimit), 0, "screenshots taken at once (default 2)")
	fs.StringVar(&o.api.GcorePath, flagName(api.FlagGcore), "", "gdb's gcore, for process dumps on iissim (default: from PATH)")
	fs.IntVar(&o.api.DeployKeepVersions, flagName(api.FlagDeployKeep), 0, "earlier versions a zero-downtime deploy keeps per application for a rollback (default 2)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.version {
		return o, nil
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if v := getenv(envAPIKey); v != "" {
		if err := (listFlag{&o.api.APIKeys}).Set(v); err != nil {
			return nil, err
		}
	}
	if len(o.api.JWTSecret) == 0 {
		if v := getenv(envJWTSecret); v != "" {
			o.api.JWTSecret = []byte(v)
		}
	}
	if o.api.Bind == "" {
		o.api.Bind = api.DefaultBind
		if len(o.api.APIKeys) > 0 || len(o.api.JWTSecret) > 0 {
			o.api.Bind = "0.0.0.0"
		}
	}
	if o.api.Port < 0 || o.api.Port > 65535 {
		return nil, fmt.Errorf("%s: %d is not a TCP port (0 turns the API off)", api.FlagPort, o.api.Port)
	}
	return o, nil
}

// versionRequested reports whether the first argument is --version (or
// -version): then main prints the version and exits before anything else.
// Later in the arguments the flag set catches it (see options.version).
func versionRequested(args []string) bool {
	return len(args) > 0 && (args[0] == "--version" || args[0] == "-version")
}

// mustParseArgs parses os.Args or exits with status 2; with --version among
// the arguments it prints the version and exits with status 0.
func mustParseArgs() *options {
	o, err := parseArgs(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "nomad_iis: %v\n", err)
		os.Exit(2)
	}
	if o.version {
		fmt.Println(version.String("nomad_iis"))
		os.Exit(0)
	}
	return o
}
