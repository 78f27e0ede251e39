//go:build dist

package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

const (
	// testVersion is the VERSION the script is given.
	testVersion = "9.8.7-disttest"
	// sourceDateEpoch is the mtime of every archived file.
	sourceDateEpoch = 1700000000
	// nomadVersion is the Nomad SDK the plugin must link (the last MPL-2.0
	// release).
	nomadVersion = "v1.6.3"
)

var (
	// textFiles are in every archive.
	textFiles = []string{"CHANGELOG.md", "LICENSE", "README.md", "THIRD_PARTY_NOTICES"}
	// archives are the os_arch of each archive.
	archives = []string{"windows_amd64", "windows_arm64", "linux_amd64"}
	// cliArchives are the os_arch of each archive of the command-line client.
	cliArchives = []string{"windows_amd64", "windows_arm64", "linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64"}
)

func name(osArch, ext string) string { return "nomad_iis_" + testVersion + "_" + osArch + ext }

// cliName is the file name of a command-line client's archive or SBOM.
func cliName(osArch, ext string) string { return "nomad-iis_" + testVersion + "_" + osArch + ext }

// archiveExt is .zip for Windows, else .tar.gz.
func archiveExt(osArch string) string {
	if strings.HasPrefix(osArch, "windows") {
		return ".zip"
	}
	return ".tar.gz"
}

// result is one run of hack/dist.sh.
type result struct {
	dir            string
	stdout, stderr string
	err            error
}

// runDist runs hack/dist.sh with env added to a clean environment (no
// signing or version variables of the caller's).
func runDist(t *testing.T, dir string, env ...string) result {
	t.Helper()
	root, err := filepath.Abs("..")
	must.NoError(t, err)
	cmd := exec.Command(filepath.Join(root, "hack", "dist.sh"))
	cmd.Dir = root
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "NOMAD_IIS_SIGN_") || strings.HasPrefix(k, "DIST_") || k == "VERSION" || k == "SOURCE_DATE_EPOCH" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "DIST_DIR="+dir, "VERSION=v"+testVersion, "SOURCE_DATE_EPOCH="+strconv.Itoa(sourceDateEpoch))
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	t.Logf("hack/dist.sh %v: %s, %v\n%s%s", env, time.Since(start).Round(time.Second), err, stdout.String(), stderr.String())
	return result{dir: dir, stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// need fails the test when a tool of hack/install-deps.sh is missing.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run make deps (hack/install-deps.sh)", tool)
		}
	}
}

func run(t *testing.T, dir, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// selfSignedCert makes a throwaway code-signing certificate and its key.
func selfSignedCert(t *testing.T) (cert, key string) {
	t.Helper()
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	out, err := run(t, dir, "openssl", "req", "-x509", "-newkey", "rsa:3072", "-nodes", "-days", "1",
		"-subj", "/O=nomad-iis test/CN=nomad-iis dist test", "-keyout", key, "-out", cert,
		"-addext", "extendedKeyUsage=codeSigning", "-addext", "keyUsage=critical,digitalSignature",
		"-addext", "basicConstraints=critical,CA:FALSE")
	must.NoError(t, err, must.Sprint(out))
	return cert, key
}

func TestDist(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("hack/dist.sh checks the linux/amd64 binary by running it")
	}
	need(t, "zip", "jq", "sha256sum", "openssl", "osslsigncode")
	tmp := t.TempDir()

	t.Run("refusals before any build", func(t *testing.T) {
		dir := filepath.Join(tmp, "refused")
		r := runDist(t, dir, "DIST_DOCS_DIR="+t.TempDir())
		must.Error(t, r.err)
		must.StrContains(t, r.stderr, "LICENSE THIRD_PARTY_NOTICES README.md CHANGELOG.md")
		must.StrContains(t, r.stderr, "every archive must carry")
		r = runDist(t, dir, "NOMAD_IIS_SIGN_CERT=/nonexistent/cert.pem")
		must.Error(t, r.err)
		must.StrContains(t, r.stderr, "NOMAD_IIS_SIGN_KEY is not")
		r = runDist(t, dir, "NOMAD_IIS_SIGN_KEY=/nonexistent/key.pem")
		must.Error(t, r.err)
		must.StrContains(t, r.stderr, "NOMAD_IIS_SIGN_CERT is not")
		_, err := os.Stat(dir)
		must.True(t, os.IsNotExist(err), must.Sprint("nothing was built"))
	})

	cert, key := selfSignedCert(t)
	signed := runDist(t, filepath.Join(tmp, "signed"), "NOMAD_IIS_SIGN_CERT="+cert, "NOMAD_IIS_SIGN_KEY="+key)
	must.NoError(t, signed.err, must.Sprint(signed.stderr))
	unsigned := runDist(t, filepath.Join(tmp, "unsigned"))
	must.NoError(t, unsigned.err, must.Sprint(unsigned.stderr))

	for _, r := range []result{signed, unsigned} {
		t.Run(filepath.Base(r.dir)+"/files and SHA256SUMS", func(t *testing.T) { checkFiles(t, r.dir) })
		t.Run(filepath.Base(r.dir)+"/archives", func(t *testing.T) { checkArchives(t, r.dir) })
		t.Run(filepath.Base(r.dir)+"/SBOMs", func(t *testing.T) { checkSBOMs(t, r.dir) })
	}

	t.Run("signed/signatures", func(t *testing.T) {
		fp, err := run(t, tmp, "openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha256")
		must.NoError(t, err, must.Sprint(fp))
		fp = strings.TrimSpace(fp[strings.IndexByte(fp, '=')+1:])
		signing := readFile(t, filepath.Join(signed.dir, "SIGNING.txt"))
		must.StrContains(t, signing, "are signed (Authenticode, SHA-256)")
		must.StrContains(t, signing, "CN=nomad-iis dist test")
		must.StrContains(t, signing, "sha256 fingerprint: "+fp)
		for _, a := range []string{"windows_amd64", "windows_arm64", "cli_windows_amd64", "cli_windows_arm64"} {
			archive, member := name(a, ".zip"), "nomad_iis.exe"
			if osArch, ok := strings.CutPrefix(a, "cli_"); ok {
				archive, member = cliName(osArch, ".zip"), "nomad-iis.exe"
			}
			exe := extractZip(t, filepath.Join(signed.dir, archive), member)
			out, err := run(t, tmp, "osslsigncode", "verify", "-in", exe, "-CAfile", cert)
			must.NoError(t, err, must.Sprintf("%s: %s", a, out))
			must.StrContains(t, out, "Signature verification: ok")

			// One byte changed in the code: the signature no longer holds.
			b, err := os.ReadFile(exe)
			must.NoError(t, err)
			b[len(b)/3] ^= 0xff
			tampered := exe + ".tampered.exe"
			must.NoError(t, os.WriteFile(tampered, b, 0o644))
			out, err = run(t, tmp, "osslsigncode", "verify", "-in", tampered, "-CAfile", cert)
			must.Error(t, err, must.Sprintf("a tampered %s verified: %s", a, out))
			must.StrContains(t, out, "MISMATCH")
		}
	})

	t.Run("unsigned/says so", func(t *testing.T) {
		must.StrContains(t, unsigned.stderr, "WARNING")
		must.StrContains(t, unsigned.stderr, "UNSIGNED")
		must.StrContains(t, readFile(t, filepath.Join(unsigned.dir, "SIGNING.txt")), "are unsigned")
		exe := extractZip(t, filepath.Join(unsigned.dir, name("windows_amd64", ".zip")), "nomad_iis.exe")
		out, err := run(t, tmp, "osslsigncode", "verify", "-in", exe, "-CAfile", cert)
		must.Error(t, err, must.Sprintf("an unsigned exe verified: %s", out))
	})

	t.Run("reproducible", func(t *testing.T) {
		// Signing changes only the Windows archives: the Linux archive and
		// the SBOMs of two runs are the same bytes.
		for _, f := range []string{name("linux_amd64", ".tar.gz"), name("linux_amd64", ".sbom.cdx.json"), name("windows_amd64", ".sbom.cdx.json"),
			cliName("linux_arm64", ".tar.gz"), cliName("darwin_arm64", ".tar.gz"), cliName("windows_amd64", ".sbom.cdx.json")} {
			must.Eq(t, sum(t, filepath.Join(signed.dir, f)), sum(t, filepath.Join(unsigned.dir, f)), must.Sprint(f))
		}
	})
}

// checkFiles checks the list of files and that SHA256SUMS covers them all
// and checks out with sha256sum -c.
func checkFiles(t *testing.T, dir string) {
	want := []string{"SHA256SUMS", "SIGNING.txt"}
	for _, a := range archives {
		ext := ".zip"
		if strings.HasPrefix(a, "linux") {
			ext = ".tar.gz"
		}
		want = append(want, name(a, ext), name(a, ".sbom.cdx.json"))
	}
	for _, a := range cliArchives {
		want = append(want, cliName(a, archiveExt(a)), cliName(a, ".sbom.cdx.json"))
	}
	slices.Sort(want)
	entries, err := os.ReadDir(dir)
	must.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	must.Eq(t, want, got)

	out, err := run(t, dir, "sha256sum", "-c", "SHA256SUMS")
	must.NoError(t, err, must.Sprint(out))
	var listed []string
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, filepath.Join(dir, "SHA256SUMS"))), "\n") {
		f := strings.Fields(line)
		must.Len(t, 2, f, must.Sprint(line))
		must.Eq(t, sum(t, filepath.Join(dir, f[1])), f[0])
		listed = append(listed, f[1])
	}
	must.Eq(t, slices.DeleteFunc(slices.Clone(want), func(s string) bool { return s == "SHA256SUMS" }), listed)
}

// checkArchives checks each archive's files, their dates and owners, and
// runs the Linux binaries' --version.
func checkArchives(t *testing.T, dir string) {
	epoch := time.Unix(sourceDateEpoch, 0).UTC()
	for _, a := range []string{"windows_amd64", "windows_arm64"} {
		zr, err := zip.OpenReader(filepath.Join(dir, name(a, ".zip")))
		must.NoError(t, err)
		var got []string
		for _, f := range zr.File {
			got = append(got, f.Name)
			must.Eq(t, epoch, f.Modified.UTC(), must.Sprintf("%s: %s", a, f.Name))
		}
		_ = zr.Close()
		must.Eq(t, append(slices.Clone(textFiles), "nomad_iis.exe"), got)
		exe := extractZip(t, filepath.Join(dir, name(a, ".zip")), "nomad_iis.exe")
		must.True(t, bytes.Contains(mustRead(t, exe), []byte(testVersion)), must.Sprintf("%s: the version is in the binary", a))
	}

	f, err := os.Open(filepath.Join(dir, name("linux_amd64", ".tar.gz")))
	must.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	must.NoError(t, err)
	tr := tar.NewReader(gz)
	bin := t.TempDir()
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must.NoError(t, err)
		got = append(got, h.Name)
		must.Eq(t, epoch, h.ModTime.UTC(), must.Sprint(h.Name))
		must.Eq(t, 0, h.Uid)
		must.Eq(t, 0, h.Gid)
		if h.Name == "nomad_iis" || h.Name == "iissim" {
			must.Eq(t, 0o755, h.Mode&0o777, must.Sprint(h.Name))
			out, err := os.OpenFile(filepath.Join(bin, h.Name), os.O_CREATE|os.O_WRONLY, 0o755)
			must.NoError(t, err)
			_, err = io.Copy(out, tr)
			must.NoError(t, err)
			must.NoError(t, out.Close())
		}
	}
	for _, want := range append(slices.Clone(textFiles), "examples/", "examples/README.md", "examples/agent.hcl",
		"examples/static_sample_app.hcl", "iissim", "nomad_iis") {
		must.SliceContains(t, got, want)
	}
	must.True(t, slices.IsSorted(got), must.Sprint("entries in name order"))
	for _, b := range []string{"nomad_iis", "iissim"} {
		out, err := run(t, bin, filepath.Join(bin, b), "--version")
		must.NoError(t, err, must.Sprint(out))
		must.Eq(t, b+" "+testVersion+"\n", out)
	}
	checkCLIArchives(t, dir)
}

// checkCLIArchives checks the command-line client's archives: the binary
// and the text files, dates, owners, modes, the version in every binary,
// and --version of the one this machine runs.
func checkCLIArchives(t *testing.T, dir string) {
	epoch := time.Unix(sourceDateEpoch, 0).UTC()
	for _, a := range cliArchives {
		bin := t.TempDir()
		exe := "nomad-iis"
		var got []string
		if archiveExt(a) == ".zip" {
			exe = "nomad-iis.exe"
			zr, err := zip.OpenReader(filepath.Join(dir, cliName(a, ".zip")))
			must.NoError(t, err)
			for _, f := range zr.File {
				got = append(got, f.Name)
				must.Eq(t, epoch, f.Modified.UTC(), must.Sprintf("%s: %s", a, f.Name))
			}
			_ = zr.Close()
			p := extractZip(t, filepath.Join(dir, cliName(a, ".zip")), exe)
			must.NoError(t, os.Rename(p, filepath.Join(bin, exe)))
		} else {
			f, err := os.Open(filepath.Join(dir, cliName(a, ".tar.gz")))
			must.NoError(t, err)
			gz, err := gzip.NewReader(f)
			must.NoError(t, err)
			tr := tar.NewReader(gz)
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				must.NoError(t, err)
				got = append(got, h.Name)
				must.Eq(t, epoch, h.ModTime.UTC(), must.Sprintf("%s: %s", a, h.Name))
				must.Eq(t, 0, h.Uid)
				if h.Name == exe {
					must.Eq(t, 0o755, h.Mode&0o777, must.Sprint(a))
					out, err := os.OpenFile(filepath.Join(bin, exe), os.O_CREATE|os.O_WRONLY, 0o755)
					must.NoError(t, err)
					_, err = io.Copy(out, tr)
					must.NoError(t, err)
					must.NoError(t, out.Close())
				}
			}
			_ = f.Close()
		}
		must.Eq(t, append(slices.Clone(textFiles), exe), got, must.Sprint(a))
		must.True(t, bytes.Contains(mustRead(t, filepath.Join(bin, exe)), []byte(testVersion)), must.Sprintf("%s: the version is in the binary", a))
		if a == runtime.GOOS+"_"+runtime.GOARCH {
			out, err := run(t, bin, filepath.Join(bin, exe), "--version")
			must.NoError(t, err, must.Sprint(out))
			must.Eq(t, "nomad-iis "+testVersion+"\n", out)
		}
	}
}

// checkSBOMs checks each SBOM: CycloneDX JSON, for the archive's platform,
// naming this release and the Nomad SDK v1.6.3.
func checkSBOMs(t *testing.T, dir string) {
	for _, a := range archives {
		var bom struct {
			BOMFormat   string `json:"bomFormat"`
			SpecVersion string `json:"specVersion"`
			Metadata    struct {
				Component struct {
					Name       string `json:"name"`
					Version    string `json:"version"`
					Purl       string `json:"purl"`
					Properties []struct {
						Name, Value string
					} `json:"properties"`
				} `json:"component"`
			} `json:"metadata"`
			Components []struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"components"`
		}
		must.NoError(t, json.Unmarshal(mustRead(t, filepath.Join(dir, name(a, ".sbom.cdx.json"))), &bom), must.Sprint(a))
		must.Eq(t, "CycloneDX", bom.BOMFormat)
		must.NotEq(t, "", bom.SpecVersion)
		c := bom.Metadata.Component
		must.Eq(t, "github.com/nomad-iis/nomad-iis", c.Name)
		must.Eq(t, "v"+testVersion, c.Version)
		must.StrContains(t, c.Purl, "@v"+testVersion+"?")
		goos, goarch, _ := strings.Cut(a, "_")
		must.StrContains(t, c.Purl, "goos="+goos)
		must.StrContains(t, c.Purl, "goarch="+goarch)
		props := map[string]string{}
		for _, p := range c.Properties {
			props[p.Name] = p.Value
		}
		must.Eq(t, goos, props["cdx:gomod:build:env:GOOS"])
		must.Eq(t, goarch, props["cdx:gomod:build:env:GOARCH"])
		must.Eq(t, "0", props["cdx:gomod:build:env:CGO_ENABLED"])
		nomad := ""
		for _, m := range bom.Components {
			if m.Name == "github.com/hashicorp/nomad" {
				nomad = m.Version
			}
		}
		must.Eq(t, nomadVersion, nomad, must.Sprintf("%s: github.com/hashicorp/nomad in the SBOM", a))
	}
	// The client links Nomad's API module, never the agent's.
	for _, a := range cliArchives {
		var bom struct {
			Metadata struct {
				Component struct {
					Name    string `json:"name"`
					Version string `json:"version"`
					Purl    string `json:"purl"`
				} `json:"component"`
			} `json:"metadata"`
			Components []struct {
				Name string `json:"name"`
			} `json:"components"`
		}
		must.NoError(t, json.Unmarshal(mustRead(t, filepath.Join(dir, cliName(a, ".sbom.cdx.json"))), &bom), must.Sprint(a))
		must.Eq(t, "github.com/nomad-iis/nomad-iis", bom.Metadata.Component.Name)
		must.Eq(t, "v"+testVersion, bom.Metadata.Component.Version)
		goos, goarch, _ := strings.Cut(a, "_")
		must.StrContains(t, bom.Metadata.Component.Purl, "goos="+goos)
		must.StrContains(t, bom.Metadata.Component.Purl, "goarch="+goarch)
		var names []string
		for _, m := range bom.Components {
			names = append(names, m.Name)
		}
		must.SliceContains(t, names, "github.com/hashicorp/nomad/api", must.Sprint(a))
		must.SliceContains(t, names, "github.com/spf13/cobra", must.Sprint(a))
		must.SliceNotContains(t, names, "github.com/hashicorp/nomad", must.Sprint(a))
	}
}

func extractZip(t *testing.T, archive, member string) string {
	t.Helper()
	zr, err := zip.OpenReader(archive)
	must.NoError(t, err)
	defer zr.Close()
	rc, err := zr.Open(member)
	must.NoError(t, err)
	defer rc.Close()
	out := filepath.Join(t.TempDir(), member)
	b, err := io.ReadAll(rc)
	must.NoError(t, err)
	must.NoError(t, os.WriteFile(out, b, 0o644))
	return out
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	must.NoError(t, err)
	return b
}

func readFile(t *testing.T, path string) string { return string(mustRead(t, path)) }

func sum(t *testing.T, path string) string {
	h := sha256.Sum256(mustRead(t, path))
	return hex.EncodeToString(h[:])
}
