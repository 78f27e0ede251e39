package driver

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

const testSite = "nomad-" + testAllocID + "-web"

func TestConfig_DriverDefaults(t *testing.T) {
	t.Parallel()
	c, err := parseDriver(t, `config {}`)
	must.NoError(t, err)
	must.True(t, c.Enabled)
	must.Eq(t, "30s", c.FingerprintInterval)
	must.True(t, c.DirectorySecurity)
	must.Eq(t, []string{"ApplicationPoolIdentity"}, c.AllowedAppPoolIdentities)
	must.SliceEmpty(t, c.AllowedTargetWebsites)
	must.SliceEmpty(t, c.AllowedAppPoolUsers)
	must.Eq(t, `C:\inetpub\wwwroot`, c.PlaceholderAppPath)
	must.Nil(t, c.Procdump)
	must.Eq(t, "2m", c.CallTimeout)

	// The defaults of the spec and of defaultDriverConfig agree.
	d := defaultDriverConfig()
	must.Eq(t, d, *c)

	s, err := c.resolve()
	must.NoError(t, err)
	must.Eq(t, 30*time.Second, s.fingerprintInterval)
	must.Eq(t, 2*time.Minute, s.callTimeout)
	if runtime.GOOS == "windows" {
		must.Eq(t, BackendPowerShell, s.Backend)
	} else {
		must.Eq(t, BackendIISSim, s.Backend)
		must.Eq(t, filepath.Join(s.IISSimStateDir, "logs"), s.IISLogDir)
	}
	must.Eq(t, "powershell.exe", s.PowerShellPath)
}

func TestConfig_DriverAllOptions(t *testing.T) {
	t.Parallel()
	c, err := parseDriver(t, `config {
  enabled                    = false
  fingerprint_interval       = "1m"
  directory_security         = false
  allowed_target_websites    = ["Default Web Site"]
  allowed_apppool_identities = ["ApplicationPoolIdentity", "SpecificUser"]
  allowed_apppool_users      = ["DOMAIN\\svc-web$"]
  placeholder_app_path       = ""
  procdump {
    binary_path = "D:\\tools\\procdump64.exe"
    accept_eula = true
  }
  backend          = "PowerShell"
  powershell_path  = "C:\\Program Files\\PowerShell\\7\\pwsh.exe"
  iissim_state_dir = "/var/lib/iissim"
  extensions_dir   = "C:\\nomad\\iis-extensions"
  call_timeout     = "00:00:45"
  iis_log_dir      = "D:\\logs"
}`)
	must.NoError(t, err)
	must.False(t, c.Enabled)
	must.False(t, c.DirectorySecurity)
	must.Eq(t, []string{"Default Web Site"}, c.AllowedTargetWebsites)
	must.Eq(t, []string{`DOMAIN\svc-web$`}, c.AllowedAppPoolUsers)
	must.Eq(t, "", c.PlaceholderAppPath)
	must.Eq(t, &ProcdumpConfig{BinaryPath: `D:\tools\procdump64.exe`, AcceptEula: true}, c.Procdump)

	s, err := c.resolve()
	must.NoError(t, err)
	must.Eq(t, time.Minute, s.fingerprintInterval)
	must.Eq(t, 45*time.Second, s.callTimeout)
	must.Eq(t, BackendPowerShell, s.Backend)
	must.Eq(t, `C:\Program Files\PowerShell\7\pwsh.exe`, s.PowerShellPath)
	must.Eq(t, "/var/lib/iissim", s.IISSimStateDir)
	must.Eq(t, `C:\nomad\iis-extensions`, s.ExtensionsDir)
	must.Eq(t, `D:\logs`, s.IISLogDir)
}

func TestConfig_DriverProcdumpDefaults(t *testing.T) {
	t.Parallel()
	c, err := parseDriver(t, `config {
  procdump {}
}`)
	must.NoError(t, err)
	must.Eq(t, &ProcdumpConfig{BinaryPath: `C:\procdump.exe`}, c.Procdump)
}

func TestConfig_DriverRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, hcl string
		want      []string
	}{
		{"short fingerprint interval", `config { fingerprint_interval = "5s" }`,
			[]string{`fingerprint_interval: "5s" is too short; use at least 10s`}},
		{"bad fingerprint interval", `config { fingerprint_interval = "soon" }`,
			[]string{`fingerprint_interval: "soon" is not a duration`}},
		{"unknown backend", `config { backend = "docker" }`,
			[]string{`backend: "docker" is not allowed; use "powershell" or "iissim"`}},
		{"short call timeout", `config { call_timeout = "10ms" }`,
			[]string{`call_timeout: "10ms" is too short; use at least 1s`}},
		{"unknown identity", `config { allowed_apppool_identities = ["Administrator"] }`,
			[]string{`allowed_apppool_identities[0]: "Administrator" is not an identity; use "ApplicationPoolIdentity", "LocalSystem", "LocalService", "NetworkService" or "SpecificUser"`}},
		{"several problems at once", `config {
  fingerprint_interval = "1s"
  backend = "x"
}`, []string{"2 problems", "fingerprint_interval", "backend"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dc, err := parseDriver(t, c.hcl)
			must.NoError(t, err)
			_, err = dc.resolve()
			for _, w := range c.want {
				must.ErrorContains(t, err, w)
			}
		})
	}
}

func TestConfig_DriverSpecRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, hcl, want string
	}{
		{"unknown option", `config { udp_logger_port = 1234 }`, `No argument or block type is named "udp_logger_port"`},
		{"wrong type", `config { enabled = "maybe" }`, `enabled`},
		{"two procdump blocks", `config {
  procdump {}
  procdump {}
}`, `Duplicate procdump block`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseDriver(t, c.hcl)
			must.ErrorContains(t, err, c.want)
		})
	}
}

func TestConfig_Minimal(t *testing.T) {
	t.Parallel()
	p, err := planFor(t, `config {
  application {
    path = "local"
  }
}`, nil)
	must.NoError(t, err)
	must.Eq(t, testSite, p.siteName)
	must.Eq(t, testSite, p.spec.SiteName)
	must.Eq(t, "", p.spec.TargetWebsite)
	must.Eq(t, testSite, p.spec.DefaultAppPool)
	must.Eq(t, map[string]string{"default": testSite}, p.poolNames)
	must.Len(t, 1, p.spec.AppPools)
	pool := p.spec.AppPools[0]
	must.Eq(t, testSite, pool.Name)
	must.Eq(t, "ApplicationPoolIdentity", pool.Identity)
	must.Nil(t, pool.ManagedRuntimeVersion)
	must.Len(t, 1, p.spec.Applications)
	app := p.spec.Applications[0]
	must.Eq(t, "", app.Alias)
	must.Eq(t, testSite, app.AppPool)
	must.StrHasSuffix(t, filepath.Join("web", "local"), app.PhysicalPath)
	must.True(t, filepath.IsAbs(app.PhysicalPath))
	must.SliceEmpty(t, p.spec.Bindings)
	must.Eq(t, []string{`IIS AppPool\` + testSite}, p.identities)
	must.SliceEmpty(t, p.warnings)
	env := map[string]string{}
	for _, e := range pool.EnvironmentVariables {
		env[e.Name] = e.Value
	}
	must.Eq(t, "hello", env["GREETING"])
	must.StrHasSuffix(t, filepath.Join("web", "tmp"), env["TMP"])
	must.Eq(t, env["TMP"], env["TEMP"])
}

func TestConfig_ApplicationPool(t *testing.T) {
	t.Parallel()
	s := defaultDriverConfig()
	s.AllowedAppPoolIdentities = []string{"ApplicationPoolIdentity", "SpecificUser", "NetworkService"}
	s.AllowedAppPoolUsers = []string{`CORP\svc-web$`}
	p, err := planFor(t, `config {
  application_pool {
    name                         = "api"
    identity                     = "specificuser"
    username                     = "corp\\SVC-WEB$"
    password                     = "s3cret"
    managed_pipeline_mode        = "classic"
    managed_runtime_version      = "None"
    enable_32bit_app_on_win64    = true
    start_mode                   = "AlwaysRunning"
    idle_timeout                 = "1h30m"
    disable_overlapped_recycle   = true
    periodic_restart             = "1.00:00:00"
    service_unavailable_response = "TcpLevel"
    queue_length                 = 5000
    start_time_limit             = "00:01:30"
    shutdown_time_limit          = "741s"
    extension {
      name  = "processModel.maxProcesses"
      value = "2"
    }
  }
  application_pool {
    name     = "net"
    identity = "NetworkService"
    managed_runtime_version = "v4.0"
  }
  application {
    path             = "local/api"
    application_pool = "API"
  }
  application {
    alias            = "/legacy"
    path             = "local/legacy"
    application_pool = "net"
  }
}`, &s)
	must.NoError(t, err)
	must.Len(t, 2, p.spec.AppPools)
	api := p.spec.AppPools[0]
	must.Eq(t, testSite+"-api", api.Name)
	must.Eq(t, "SpecificUser", api.Identity)
	must.Eq(t, `corp\SVC-WEB$`, api.Username)
	must.Eq(t, "s3cret", api.Password)
	must.Eq(t, "Classic", api.ManagedPipelineMode)
	must.Eq(t, "", *api.ManagedRuntimeVersion)
	must.True(t, *api.Enable32BitAppOnWin64)
	must.Eq(t, "AlwaysRunning", api.StartMode)
	must.Eq(t, int64(90*60*1000), *api.IdleTimeoutMs)
	must.True(t, *api.DisallowOverlappingRotation)
	must.Eq(t, int64(24*3600*1000), *api.PeriodicRestartMs)
	must.Eq(t, "TcpLevel", api.LoadBalancerCapabilities)
	must.Eq(t, int64(5000), *api.QueueLength)
	must.Eq(t, int64(90*1000), *api.StartupTimeLimitMs)
	must.Eq(t, int64(741000), *api.ShutdownTimeLimitMs)
	must.Eq(t, []ps.Attribute{{Name: "processModel.maxProcesses", Value: "2"}}, api.Attributes)

	net := p.spec.AppPools[1]
	must.Eq(t, testSite+"-net", net.Name)
	must.Eq(t, "v4.0", *net.ManagedRuntimeVersion)
	must.Nil(t, net.Enable32BitAppOnWin64)
	must.Nil(t, net.QueueLength)

	// No application uses "default": no implicit pool, and the site's
	// default pool is the first one.
	must.Eq(t, map[string]string{"api": testSite + "-api", "net": testSite + "-net"}, p.poolNames)
	must.Eq(t, "api", p.defaultPool)
	must.Eq(t, testSite+"-api", p.spec.DefaultAppPool)
	must.Eq(t, testSite+"-api", p.spec.Applications[0].AppPool)
	must.Eq(t, "legacy", p.spec.Applications[1].Alias)
	must.Eq(t, testSite+"-net", p.spec.Applications[1].AppPool)
	must.Eq(t, []string{`corp\SVC-WEB$`, `NT AUTHORITY\NETWORK SERVICE`}, p.identities)
}

func TestConfig_DeprecatedApplicationPool(t *testing.T) {
	t.Parallel()
	p, err := planFor(t, `config {
  applicationPool {
    name = "old"
  }
  application_pool {
    name = "new"
  }
  application {
    path             = "local"
    application_pool = "old"
  }
  application {
    alias            = "v2"
    path             = "local/v2"
    application_pool = "new"
  }
}`, nil)
	must.NoError(t, err)
	must.Eq(t, testSite+"-old", p.spec.AppPools[0].Name)
	must.Eq(t, testSite+"-new", p.spec.AppPools[1].Name)
	must.SliceContainsFunc(t, p.warnings, "applicationPool", func(w, _ string) bool {
		return w == "applicationPool: deprecated since nomad-iis 0.20; rename the block to application_pool"
	})
}

func TestConfig_UnusedPoolIsNotCreated(t *testing.T) {
	t.Parallel()
	p, err := planFor(t, `config {
  application_pool {
    name = "spare"
  }
  application {
    path = "local"
  }
}`, nil)
	must.NoError(t, err)
	must.Eq(t, map[string]string{"default": testSite}, p.poolNames)
	must.Eq(t, []string{`application_pool[0]: application pool "spare" is used by no application and is not created`}, p.warnings)
}

func TestConfig_Application(t *testing.T) {
	t.Parallel()
	abs := filepath.Join(t.TempDir(), "shared")
	// A path outside the allocation needs allowed_host_paths.
	node := defaultDriverConfig()
	node.AllowedHostPaths = []string{abs}
	p, err := planFor(t, `config {
  application {
    path = "local/site"
  }
  application {
    alias                       = "/api/v1/"
    path                        = "`+filepath.ToSlash(abs)+`"
    enable_preload              = true
    service_auto_start_enabled  = true
    service_auto_start_provider = "Warmup"
    virtual_directory {
      alias = "/static"
      path  = "local/static"
      extension {
        name  = "allowSubDirConfig"
        value = "false"
      }
    }
    virtual_directory {
      alias = "media/img"
      path  = "../alloc/data/img"
    }
    extension {
      name  = "enabledProtocols"
      value = "http,net.pipe"
    }
  }
  service_auto_start_provider {
    name = "Warmup"
    type = "Contoso.Warmup, Contoso"
  }
}`, &node)
	must.NoError(t, err)
	must.Len(t, 2, p.spec.Applications)
	app := p.spec.Applications[1]
	must.Eq(t, "api/v1", app.Alias)
	must.Eq(t, abs, app.PhysicalPath)
	must.True(t, *app.PreloadEnabled)
	must.True(t, *app.ServiceAutoStartEnabled)
	must.Eq(t, "Warmup", app.ServiceAutoStartProvider)
	must.Eq(t, []ps.Attribute{{Name: "enabledProtocols", Value: "http,net.pipe"}}, app.Attributes)
	must.Len(t, 2, app.VirtualDirectories)
	must.Eq(t, "static", app.VirtualDirectories[0].Alias)
	must.StrHasSuffix(t, filepath.Join("web", "local", "static"), app.VirtualDirectories[0].PhysicalPath)
	must.Eq(t, []ps.Attribute{{Name: "allowSubDirConfig", Value: "false"}}, app.VirtualDirectories[0].Attributes)
	must.Eq(t, "media/img", app.VirtualDirectories[1].Alias)
	must.StrHasSuffix(t, filepath.Join("alloc", "data", "img"), app.VirtualDirectories[1].PhysicalPath)
	must.Nil(t, p.spec.Applications[0].PreloadEnabled)
	must.Eq(t, []ps.AutoStartProviderSpec{{Name: "Warmup", Type: "Contoso.Warmup, Contoso"}}, p.spec.AutoStartProviders)
	must.Len(t, 4, p.contentDirs)
}

func TestConfig_TargetWebsite(t *testing.T) {
	t.Parallel()
	s := defaultDriverConfig()
	s.AllowedTargetWebsites = []string{"Default Web Site"}
	p, err := planFor(t, `config {
  target_website = "default web site"
  application {
    alias = "shop"
    path  = "local"
  }
  binding {
    type = "http"
    port = "http"
  }
}`, &s)
	must.NoError(t, err)
	must.Eq(t, "", p.siteName)
	must.Eq(t, "", p.spec.SiteName)
	must.Eq(t, "default web site", p.spec.TargetWebsite)
	must.Eq(t, "", p.spec.DefaultAppPool)
	must.SliceEmpty(t, p.spec.Bindings)
	must.Eq(t, []string{`binding: ignored: a task with target_website uses the bindings of "default web site"`}, p.warnings)

	s.AllowedTargetWebsites = []string{"*"}
	_, err = planFor(t, `config {
  target_website = "Any Site"
  application {
    alias = "x"
    path  = "local"
  }
}`, &s)
	must.NoError(t, err)
}

func TestConfig_PermitIUSR(t *testing.T) {
	t.Parallel()
	tc, err := parseTask(t, `config {
  application { path = "local" }
}`)
	must.NoError(t, err)
	must.True(t, tc.PermitIUSR)
	tc, err = parseTask(t, `config {
  permit_iusr = false
  application { path = "local" }
}`)
	must.NoError(t, err)
	must.False(t, tc.PermitIUSR)
}

func TestConfig_Bindings(t *testing.T) {
	t.Parallel()
	p, err := planFor(t, `config {
  application { path = "local" }
  binding {
    type = "HTTP"
    port = "http"
  }
  binding {
    type       = "http"
    port       = 80
    hostname   = "Shop.Example.com"
    ip_address = "127.0.0.1"
  }
  binding {
    type        = "https"
    port        = "https"
    hostname    = "shop.example.com"
    require_sni = true
    certificate {
      thumbprint = "\u200e12 34 56 78 9a bc de f0 12 34 56 78 9a bc de f0 12 34 56 78"
    }
  }
  binding {
    type = "https"
    port = 8444
    hostname = "pfx.example.com"
    certificate {
      pfx_file = "secrets/site.pfx"
      password = "pfx-pass"
    }
  }
  binding {
    type = "https"
    port = 8445
    hostname = "pem.example.com"
    certificate {
      cert_file = "secrets/bundle.pem"
      key_file  = "secrets/bundle.pem"
    }
  }
  binding {
    type = "https"
    port = 8446
    hostname = "self.example.com"
    certificate {
      use_self_signed = true
    }
  }
}`, nil, "secrets/site.pfx", "secrets/bundle.pem")
	must.NoError(t, err)
	b := p.spec.Bindings
	must.Len(t, 6, b)
	must.Eq(t, ps.BindingSpec{Protocol: "http", IPAddress: "*", Port: 8080}, b[0])
	must.Eq(t, ps.BindingSpec{Protocol: "http", IPAddress: "127.0.0.1", Port: 80, Hostname: "shop.example.com"}, b[1])
	must.Eq(t, ps.BindingSpec{Protocol: "https", IPAddress: "*", Port: 8443, Hostname: "shop.example.com",
		RequireSNI: true, CertificateThumbprint: "123456789ABCDEF0123456789ABCDEF012345678"}, b[2])
	must.Len(t, 3, p.certImports)
	must.Eq(t, 3, p.certImports[0].binding)
	must.StrHasSuffix(t, filepath.Join("web", "secrets", "site.pfx"), p.certImports[0].args.PfxPath)
	must.Eq(t, "pfx-pass", p.certImports[0].args.Password)
	must.Eq(t, 4, p.certImports[1].binding)
	must.Eq(t, p.certImports[1].args.CertPath, p.certImports[1].args.KeyPath)
	must.Eq(t, ps.ImportCertificateArgs{SelfSigned: true, Hostname: "self.example.com"}, p.certImports[2].args)
	must.SliceEmpty(t, p.warnings)
}

func TestConfig_BindingIgnoredSettings(t *testing.T) {
	t.Parallel()
	p, err := planFor(t, `config {
  application { path = "local" }
  binding {
    type        = "http"
    port        = "http"
    require_sni = true
    certificate { use_self_signed = true }
  }
  binding {
    type = "https"
    port = "https"
    certificate {
      use_self_signed = true
      thumbprint      = "123456789ABCDEF0123456789ABCDEF012345678"
    }
  }
}`, nil)
	must.NoError(t, err)
	must.Eq(t, ps.BindingSpec{Protocol: "http", IPAddress: "*", Port: 8080}, p.spec.Bindings[0])
	must.Eq(t, "123456789ABCDEF0123456789ABCDEF012345678", p.spec.Bindings[1].CertificateThumbprint)
	must.Eq(t, []string{
		"binding[0].require_sni: ignored: SNI applies to https bindings only",
		"binding[0].certificate: ignored: certificates apply to https bindings only",
		"binding[1].certificate: thumbprint, use_self_signed are set; only thumbprint is used",
	}, p.warnings)
}

func TestConfig_AppLogFile(t *testing.T) {
	t.Parallel()
	p, err := planFor(t, `config {
  application { path = "local" }
  app_log_file = "local/logs/stdout*.log"
}`, nil)
	must.NoError(t, err)
	must.StrHasSuffix(t, filepath.Join("web", "local", "logs", "stdout*.log"), p.appLogFile)
}

func TestConfig_Placeholder(t *testing.T) {
	t.Parallel()
	s := defaultDriverConfig()
	s.PlaceholderAppPath = t.TempDir()
	p, err := planFor(t, `config {
  application {
    alias = "app"
    path  = "local"
  }
}`, &s)
	must.NoError(t, err)
	must.Len(t, 2, p.spec.Applications)
	must.Eq(t, ps.ApplicationSpec{PhysicalPath: s.PlaceholderAppPath, AppPool: testSite}, p.spec.Applications[0])

	s.PlaceholderAppPath = ""
	p, err = planFor(t, `config {
  application {
    alias = "app"
    path  = "local"
  }
}`, &s)
	must.NoError(t, err)
	must.Len(t, 1, p.spec.Applications)
}
