package driver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"
)

func TestPathSyntax_Confine(t *testing.T) {
	t.Parallel()
	const outside = "is outside the allocation directory; allowed_host_paths permits "
	posix := pathSyntax{}
	windows := pathSyntax{windows: true}
	cases := []struct {
		name    string
		syntax  pathSyntax
		path    string
		allowed []string
		want    string // a part of the problem, "" for none
	}{
		{"posix relative", posix, "local/site", nil, ""},
		{"posix shared alloc dir", posix, "../alloc/data", nil, ""},
		{"posix relative escape", posix, "../../..", nil, outside + "none"},
		{"posix other allocation", posix, "../../alloc2/web/secrets", nil, outside + "none"},
		{"posix absolute outside", posix, "/etc", nil, outside + "none"},
		{"posix absolute inside", posix, "/a/alloc1/web/local", nil, ""},
		{"posix absolute escape", posix, "/a/alloc1/../alloc2/web", nil, outside},
		{"posix sibling with a common prefix", posix, "/a/alloc10/web", nil, outside},
		{"posix allowed", posix, "/srv/sites/shop", []string{"/srv/sites"}, ""},
		{"posix allowed itself", posix, "/srv/sites/", []string{"/srv/sites/"}, ""},
		{"posix not the allowed one", posix, "/srv/sites2", []string{"/srv/sites"}, outside + `"/srv/sites"`},
		{"posix escape from allowed", posix, "/srv/sites/../../etc", []string{"/srv/sites"}, outside},
		{"posix backslashes are names", posix, `..\..\etc`, nil, ""},

		{"windows relative", windows, `local\site`, nil, ""},
		{"windows relative slashes", windows, "local/site", nil, ""},
		{"windows relative escape", windows, `..\..\B\web\secrets`, nil, outside + "none"},
		{"windows mixed escape", windows, `local/..\../..\..`, nil, outside},
		{"windows absolute outside", windows, `C:\Windows`, nil, outside + "none"},
		{"windows absolute inside, other case and slashes", windows, "c:/NOMAD/alloc/a/web/local", nil, ""},
		{"windows sibling with a common prefix", windows, `C:\nomad\alloc\AB`, nil, outside},
		{"windows other drive", windows, `D:\nomad\alloc\A\web`, nil, outside},
		{"windows drive-relative", windows, `C:Windows`, nil, "is relative to the current directory of drive C:"},
		{"windows drive-relative inside", windows, `C:nomad\alloc\A`, nil, "is relative to the current directory of drive C:"},
		{"windows rooted without drive", windows, `\Windows`, nil, "is relative to the current drive"},
		{"windows UNC", windows, `\\fileserver\share\x`, nil, outside + "none"},
		{"windows UNC allowed", windows, `\\fileserver\share\x`, []string{`\\FileServer\Share`}, ""},
		{"windows UNC escape from allowed", windows, `\\fileserver\share\..\other`, []string{`\\fileserver\share`}, outside},
		{"windows device path", windows, `\\?\C:\nomad\alloc\A\web`, nil, "is a device path"},
		{"windows allowed", windows, `D:\sites\shop`, []string{"d:/sites"}, ""},
		{"windows escape from allowed", windows, `D:\sites\..\secrets`, []string{`D:\sites`}, outside + `"D:\\sites"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			taskDir, allocDir := "/a/alloc1/web", "/a/alloc1"
			if c.syntax.windows {
				taskDir, allocDir = `C:\nomad\alloc\A\web`, `C:\nomad\alloc\A`
			}
			got := c.syntax.confine(c.path, taskDir, allocDir, c.allowed)
			if c.want == "" {
				must.Eq(t, "", got)
			} else {
				must.StrContains(t, got, c.want)
			}
		})
	}
}

// TestConfig_HostPaths checks the confinement of the paths a task names
// (hostpaths.go) as StartTask validates them, with files and links on disk.
func TestConfig_HostPaths(t *testing.T) {
	t.Parallel()
	outsideDir := t.TempDir() // another allocation's secrets, say
	must.NoError(t, os.WriteFile(filepath.Join(outsideDir, "key.pem"), []byte("secret"), 0o600))
	allowedDir := t.TempDir()
	must.NoError(t, os.WriteFile(filepath.Join(allowedDir, "site.pfx"), []byte("pfx"), 0o600))
	allowing := defaultDriverConfig()
	allowing.AllowedHostPaths = []string{allowedDir}

	app := func(path string) string {
		return "config {\n  application { path = \"" + filepath.ToSlash(path) + "\" }\n}"
	}
	vdir := func(path string) string {
		return "config {\n  application {\n    path = \"local\"\n    virtual_directory {\n      alias = \"v\"\n      path = \"" +
			filepath.ToSlash(path) + "\"\n    }\n  }\n}"
	}
	cert := func(attrs string) string {
		return "config {\n  application { path = \"local\" }\n  binding {\n    type = \"https\"\n    port = \"https\"\n    certificate {\n" +
			attrs + "\n    }\n  }\n}"
	}
	// links are made below the task directory web/ of the allocation.
	type link struct{ name, target string }
	cases := []struct {
		name  string
		hcl   func(allocDir string) string
		links []link
		node  *DriverConfig
		want  string // "" when accepted
	}{
		{"relative inside", func(string) string { return app("local/site") }, nil, nil, ""},
		{"shared alloc dir", func(string) string { return app("../alloc/data") }, nil, nil, ""},
		{"relative escape", func(string) string { return app("../../..") }, nil, nil,
			`application[0].path: "../../.." is outside the allocation directory; allowed_host_paths permits none`},
		{"absolute outside", func(string) string { return app("/etc") }, nil, nil,
			`application[0].path: "/etc" is outside the allocation directory; allowed_host_paths permits none`},
		{"absolute inside", func(a string) string { return app(filepath.Join(a, "web", "local")) }, nil, nil, ""},
		{"allowed by the option", func(string) string { return app(allowedDir) }, nil, &allowing, ""},
		{"below an allowed path", func(string) string { return app(filepath.Join(allowedDir, "shop")) }, nil, &allowing, ""},
		{"outside the allowed paths", func(string) string { return app(outsideDir) }, nil, &allowing,
			`is outside the allocation directory; allowed_host_paths permits "` + allowedDir + `"`},
		{"virtual directory escape", func(string) string { return vdir("../../other/secrets") }, nil, nil,
			`application[0].virtual_directory[0].path: "../../other/secrets" is outside the allocation directory`},
		{"link inside pointing outside", func(string) string { return app("local/link") },
			[]link{{"local/link", outsideDir}}, nil,
			`application[0].path: "local/link" leads through a symbolic link to "` + outsideDir + `", which is outside the allocation directory`},
		{"missing directory below a link pointing outside", func(string) string { return app("local/link/new") },
			[]link{{"local/link", outsideDir}}, nil, `leads through a symbolic link to`},
		{"dangling link", func(string) string { return app("local/link") },
			[]link{{"local/link", filepath.Join(outsideDir, "later")}}, nil, `leads through the symbolic link`},
		{"link inside pointing inside", func(string) string { return app("local/link") },
			[]link{{"local/link", "../secrets"}}, nil, ""},
		{"link to an allowed path", func(string) string { return app("local/link") },
			[]link{{"local/link", allowedDir}}, &allowing, ""},
		{"pfx file outside", func(string) string { return cert(`pfx_file = "/etc/ssl/private/site.pfx"`) }, nil, nil,
			`binding[0].certificate.pfx_file: "/etc/ssl/private/site.pfx" is outside the allocation directory; allowed_host_paths permits none`},
		{"pfx file escape", func(string) string { return cert(`pfx_file = "../../../site.pfx"`) }, nil, nil,
			`binding[0].certificate.pfx_file: "../../../site.pfx" is outside the allocation directory`},
		{"pfx file allowed", func(string) string {
			return cert(`pfx_file = "` + filepath.ToSlash(filepath.Join(allowedDir, "site.pfx")) + `"`)
		}, nil, &allowing, ""},
		{"cert and key outside", func(string) string {
			return cert(`cert_file = "/etc/ssl/certs/site.pem"` + "\n" + `key_file = "/etc/ssl/private/site.key"`)
		}, nil, nil, `binding[0].certificate.cert_file: "/etc/ssl/certs/site.pem" is outside the allocation directory`},
		{"key through a link", func(string) string {
			return cert(`cert_file = "secrets/bundle.pem"` + "\n" + `key_file = "secrets/key.pem"`)
		}, []link{{"secrets/key.pem", filepath.Join(outsideDir, "key.pem")}}, nil,
			`binding[0].certificate.key_file: "secrets/key.pem" leads through a symbolic link to "` + filepath.Join(outsideDir, "key.pem") + `"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			allocDir := t.TempDir()
			for _, l := range c.links {
				path := filepath.Join(allocDir, "web", filepath.FromSlash(l.name))
				must.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				must.NoError(t, os.Symlink(l.target, path))
			}
			_, err := planIn(t, allocDir, c.hcl(allocDir), c.node, "secrets/bundle.pem")
			if c.want == "" {
				must.NoError(t, err)
			} else {
				must.ErrorContains(t, err, c.want)
			}
		})
	}
}

func TestConfig_AllowedHostPaths(t *testing.T) {
	t.Parallel()
	c, err := parseDriver(t, `config {
  allowed_host_paths = ["/srv/sites", "/etc/nomad-iis/certs"]
}`)
	must.NoError(t, err)
	must.Eq(t, []string{"/srv/sites", "/etc/nomad-iis/certs"}, c.AllowedHostPaths)
	must.SliceEmpty(t, defaultDriverConfig().AllowedHostPaths)

	for _, bad := range []string{"", "sites", "../sites"} {
		dc := defaultDriverConfig()
		dc.AllowedHostPaths = []string{"/srv/sites", bad}
		_, err := dc.resolve()
		must.ErrorContains(t, err, `allowed_host_paths[1]: "`+bad+`" is not an absolute path`)
	}
	if hostSyntax.windows {
		dc := defaultDriverConfig()
		dc.AllowedHostPaths = []string{`C:sites`}
		_, err := dc.resolve()
		must.ErrorContains(t, err, "is relative to the current directory of drive C:")
	}
}
