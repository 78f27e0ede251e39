package driver

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
)

// formatTimeSpan renders d in the .NET "c" format parseDuration reads.
func formatTimeSpan(d time.Duration) string {
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	s := d / time.Second
	d -= s * time.Second
	return fmt.Sprintf("%d.%02d:%02d:%02d.%07d", days, h, m, s, d/100)
}

// formatCompact renders d (a whole number of milliseconds) in the compact
// unit format.
func formatCompact(d time.Duration) string {
	var b strings.Builder
	for _, u := range durationUnits {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.suffix)
			d -= n * u.unit
		}
	}
	if b.Len() == 0 {
		return "0ms"
	}
	return b.String()
}

// FuzzParseDuration: a duration is accepted as a non-negative value that
// survives a round trip through both formats, or refused with the hint; the
// same input always gets the same answer.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{
		"1w", "3d", "0h", "741ms", "7h2m3s", "1h 30m", "1w2d3h4m5s6ms", "04:51:23.740",
		"07.04:51:23", "00:00:00.0000001", "10675199.02:48:05.4775807", "106751.23:47:16.854",
		"999999999w", "99999999999999999999s", "-00:01", "1.5h", "24:00", " 20m ", "1:2:3:4",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := parseDuration(in)
		d2, err2 := parseDuration(in)
		if d != d2 || (err == nil) != (err2 == nil) {
			t.Fatalf("ParseDuration(%q) is not deterministic", in)
		}
		if err != nil {
			if !strings.Contains(err.Error(), durationHint) {
				t.Fatalf("ParseDuration(%q): error without the format hint: %v", in, err)
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, a negative duration", in, d)
		}
		ts := formatTimeSpan(d)
		if back, err := parseDuration(ts); err != nil || back != d {
			t.Fatalf("ParseDuration(%q) = %v; its TimeSpan form %q parses to %v, %v", in, d, ts, back, err)
		}
		if d%time.Millisecond == 0 {
			c := formatCompact(d)
			if back, err := parseDuration(c); err != nil || back != d {
				t.Fatalf("ParseDuration(%q) = %v; its compact form %q parses to %v, %v", in, d, c, back, err)
			}
		}
	})
}

// optionPath matches the start of every validation error: the option, with
// its block index, that is at fault.
var optionPath = regexp.MustCompile(`^(task|target_website|app_log_file|application_pool|applicationPool|application|binding|service_auto_start_provider)(\[\d+\])?(\.[a-z_0-9]+(\[\d+\])?)*: `)

// leafErrors flattens the errors joinErrors combined.
func leafErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	if u := errors.Unwrap(err); u != nil {
		return leafErrors(u)
	}
	return []error{err}
}

// FuzzPlanTask drives the task-config validator with arbitrary option
// values: it never panics, and every error it reports names the option.
func FuzzPlanTask(f *testing.F) {
	f.Add("default", "ApplicationPoolIdentity", "local", "/", "default", "http", "http", "", "*", "5m", "autoStart", "", int64(1000), false, "")
	f.Add("api", "SpecificUser", "", "api/v1", "nope", "https", "8080", "example.com", "10.0.0.1", "00:00:01", "bad name", "ZZ", int64(5), true, "../x")
	f.Add("waytoolongname", "LocalSystem", "/abs/path", "a//b", "", "ftp", "0", "*.x", "::1", "-1h", "a.b.c", strings.Repeat("A", 40), int64(70000), true, "local/*.log")
	f.Add("default", "NetworkService", "local", "..", "default", "HTTP", "99999", "bad host", "*", "1w", "", "", int64(-1), false, "[")

	allocDir := f.TempDir()
	d := defaultDriverConfig()
	settings, err := d.resolve()
	if err != nil {
		f.Fatal(err)
	}
	ports := structs.AllocatedPorts{{Label: "http", Value: 8080, HostIP: "127.0.0.1"}}
	f.Fuzz(func(t *testing.T, pool, identity, appPath, alias, appPool, btype, port, hostname, ip, idle, extName, thumb string, queue int64, withCert bool, logFile string) {
		q := queue
		tc := &TaskConfig{
			ApplicationPools: []AppPoolConfig{{Name: pool, Identity: identity, IdleTimeout: idle, PeriodicRestart: idle, QueueLength: &q,
				Extensions: []ExtensionConfig{{Name: extName, Value: thumb}}}},
			Applications: []ApplicationConfig{{Path: appPath, Alias: alias, ApplicationPool: appPool,
				VirtualDirectories: []VirtualDirectoryConfig{{Alias: alias + "/v", Path: appPath}}}},
			Bindings:   []BindingConfig{{Type: btype, Port: port, Hostname: hostname, IPAddress: ip}},
			AppLogFile: logFile,
		}
		if withCert {
			tc.Bindings[0].Certificates = []CertificateConfig{{Thumbprint: thumb, PfxFile: appPath}}
		}
		cfg := &drivers.TaskConfig{
			ID: testAllocID + "/web/1", AllocID: testAllocID, Name: "web", AllocDir: allocDir,
			Resources: &drivers.Resources{Ports: &ports, NomadResources: &structs.AllocatedTaskResources{}},
		}
		plan, err := planTask(tc, cfg, settings, nil)
		if err == nil {
			if plan == nil || len(plan.spec.Applications) == 0 {
				t.Fatalf("accepted config without a plan or an application: %+v", plan)
			}
			for _, a := range plan.spec.Applications {
				if !filepath.IsAbs(a.PhysicalPath) {
					t.Fatalf("accepted a relative physical path %q", a.PhysicalPath)
				}
			}
			for _, p := range plan.spec.AppPools {
				if p.QueueLength != nil && (*p.QueueLength < 10 || *p.QueueLength > math.MaxUint16) {
					t.Fatalf("accepted queue_length %d", *p.QueueLength)
				}
			}
			return
		}
		if !strings.HasPrefix(err.Error(), "invalid task config") {
			t.Fatalf("error without the summary: %v", err)
		}
		for _, e := range leafErrors(err) {
			if !optionPath.MatchString(e.Error()) {
				t.Fatalf("error does not name an option: %q", e.Error())
			}
		}
	})
}
