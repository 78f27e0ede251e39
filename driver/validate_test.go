package driver

import (
	"strings"
	"testing"

	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

func TestConfig_SpecRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, hcl, want string
	}{
		{"unknown attribute", `config {
  application { path = "local" }
  enable_udp_logging = true
}`, `No argument or block type is named "enable_udp_logging"`},
		{"application without path", `config {
  application { alias = "x" }
}`, `"path" is required`},
		{"binding without port", `config {
  application { path = "local" }
  binding { type = "http" }
}`, `"port" is required`},
		{"binding without type", `config {
  application { path = "local" }
  binding { port = "http" }
}`, `"type" is required`},
		{"virtual directory without path", `config {
  application {
    path = "local"
    virtual_directory { alias = "x" }
  }
}`, `"path" is required`},
		{"extension without value", `config {
  application {
    path = "local"
    extension { name = "preloadEnabled" }
  }
}`, `"value" is required`},
		{"provider without type", `config {
  application { path = "local" }
  service_auto_start_provider { name = "x" }
}`, `"type" is required`},
		{"queue length not a number", `config {
  application_pool { queue_length = "long" }
  application { path = "local" }
}`, `queue_length`},
		{"permit_iusr not a bool", `config {
  permit_iusr = "sometimes"
  application { path = "local" }
}`, `permit_iusr`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseTask(t, c.hcl)
			must.ErrorContains(t, err, c.want)
		})
	}
}

func TestConfig_Rejects(t *testing.T) {
	t.Parallel()
	restricted := defaultDriverConfig()
	restricted.AllowedAppPoolIdentities = []string{"ApplicationPoolIdentity", "SpecificUser"}
	restricted.AllowedAppPoolUsers = []string{"svc-web"}
	restricted.AllowedTargetWebsites = []string{"Default Web Site"}

	pool := func(attrs string) string {
		return "config {\n  application_pool {\n" + attrs + "\n  }\n  application { path = \"local\" }\n}"
	}
	binding := func(attrs string) string {
		return "config {\n  application { path = \"local\" }\n  binding {\n" + attrs + "\n  }\n}"
	}
	cases := []struct {
		name string
		hcl  string
		node *DriverConfig
		want string
	}{
		{"no application", `config {}`, nil,
			`application: at least one application block is required`},
		{"pool name too long", pool(`name = "frontend1"`), nil,
			`application_pool[0].name: "frontend1" has 9 characters; use at most 8`},
		{"pool name empty", pool(`name = " "`), nil,
			`application_pool[0].name: must not be empty`},
		{"pool names differ only in case", `config {
  application_pool { name = "api" }
  application_pool { name = "API" }
  application { path = "local" }
}`, nil, `application_pool[1].name: "API" is already the name of application_pool[0]`},
		{"pool names collide after sanitising", `config {
  application_pool { name = "a b" }
  application_pool { name = "a_b" }
  application {
    path = "local"
    application_pool = "a b"
  }
  application {
    alias = "x"
    path = "local"
    application_pool = "a_b"
  }
}`, nil, `both become the IIS name`},
		{"identity unknown", pool(`identity = "Administrator"`), nil,
			`application_pool[0].identity: "Administrator" is not allowed; use "ApplicationPoolIdentity", "LocalSystem", "LocalService", "NetworkService" or "SpecificUser"`},
		{"identity not allowed on node", pool(`identity = "LocalSystem"`), nil,
			`application_pool[0].identity: "LocalSystem" is not allowed on this node; allowed_apppool_identities permits "ApplicationPoolIdentity"`},
		{"identity numeric", pool(`identity = "1"`), nil,
			`application_pool[0].identity: "1" is not allowed`},
		{"specific user without username", pool(`identity = "SpecificUser"`), &restricted,
			`application_pool[0].username: the SpecificUser identity needs a username`},
		{"specific user not allowed", pool("identity = \"SpecificUser\"\nusername = \"admin\""), &restricted,
			`application_pool[0].username: "admin" is not allowed on this node; allowed_apppool_users permits "svc-web"`},
		{"specific user with no users allowed", pool("identity = \"SpecificUser\"\nusername = \"svc\""),
			&DriverConfig{AllowedAppPoolIdentities: []string{"SpecificUser", "ApplicationPoolIdentity"}},
			`allowed_apppool_users permits none`},
		{"pipeline mode", pool(`managed_pipeline_mode = "Hybrid"`), nil,
			`application_pool[0].managed_pipeline_mode: "Hybrid" is not allowed; use "Integrated" or "Classic"`},
		{"pipeline mode numeric", pool(`managed_pipeline_mode = "0"`), nil,
			`application_pool[0].managed_pipeline_mode: "0" is not allowed; use "Integrated" or "Classic"`},
		{"runtime version", pool(`managed_runtime_version = "v3.0"`), nil,
			`application_pool[0].managed_runtime_version: "v3.0" is not allowed; use "v4.0", "v2.0" or "None"`},
		{"start mode", pool(`start_mode = "Eager"`), nil,
			`application_pool[0].start_mode: "Eager" is not allowed; use "OnDemand" or "AlwaysRunning"`},
		{"service unavailable response", pool(`service_unavailable_response = "503"`), nil,
			`application_pool[0].service_unavailable_response: "503" is not allowed; use "HttpLevel" or "TcpLevel"`},
		{"idle timeout", pool(`idle_timeout = "20 minutes"`), nil,
			`application_pool[0].idle_timeout: "20 minutes" is not a duration`},
		{"periodic restart", pool(`periodic_restart = "-01:00"`), nil,
			`application_pool[0].periodic_restart: "-01:00" is not a duration (negative durations are not allowed)`},
		{"start time limit", pool(`start_time_limit = "0s"`), nil,
			`application_pool[0].start_time_limit: "0s" is too short; use at least 1s`},
		{"shutdown time limit", pool(`shutdown_time_limit = "90"`), nil,
			`application_pool[0].shutdown_time_limit: "90" is not a duration`},
		{"queue length", pool(`queue_length = 5`), nil,
			`application_pool[0].queue_length: 5 is out of range; use 10 to 65535`},
		{"pool extension name", pool("extension {\nname = \"processModel/maxProcesses\"\nvalue = \"2\"\n}"), nil,
			`application_pool[0].extension[0].name: "processModel/maxProcesses" is not an attribute name`},
		{"unknown pool reference", `config {
  application {
    path = "local"
    application_pool = "ghost"
  }
}`, nil, `application[0].application_pool: "ghost" is not the name of any application_pool block of this task`},
		{"duplicate alias", `config {
  application {
    alias = "/Shop"
    path = "local"
  }
  application {
    alias = "shop/"
    path = "local"
  }
}`, nil, `application[1].alias: "shop" is already the alias of application[0]`},
		{"two root applications", `config {
  application { path = "a" }
  application {
    alias = "/"
    path = "b"
  }
}`, nil, `application[1].alias: "/" is already the alias of application[0]`},
		{"alias with dot-dot", `config {
  application {
    alias = "a/../b"
    path = "local"
  }
}`, nil, `application[0].alias: "a/../b" has an empty, "." or ".." segment`},
		{"alias with bad character", `config {
  application {
    alias = "a:b"
    path = "local"
  }
}`, nil, `application[0].alias: "a:b" contains a character IIS does not allow`},
		{"empty path", `config {
  application { path = "" }
}`, nil, `application[0].path: must not be empty`},
		{"virtual directory without alias", `config {
  application {
    path = "local"
    virtual_directory {
      alias = "/"
      path = "local"
    }
  }
}`, nil, `application[0].virtual_directory[0].alias: "/" is empty; a virtual directory needs an alias`},
		{"duplicate virtual directory", `config {
  application {
    path = "local"
    virtual_directory {
      alias = "img"
      path = "a"
    }
    virtual_directory {
      alias = "IMG"
      path = "b"
    }
  }
}`, nil, `application[0].virtual_directory[1].alias: "IMG" is already the alias of application[0].virtual_directory[0]`},
		{"target website not allowed on node", `config {
  target_website = "Default Web Site"
  application {
    alias = "x"
    path = "local"
  }
}`, nil, `target_website: "Default Web Site" is not allowed: this node allows no target websites`},
		{"target website not in list", `config {
  target_website = "Other Site"
  application {
    alias = "x"
    path = "local"
  }
}`, &restricted, `target_website: "Other Site" is not allowed on this node; allowed_target_websites permits "Default Web Site"`},
		{"target website of another task", `config {
  target_website = "NOMAD-abc-web"
  application {
    alias = "x"
    path = "local"
  }
}`, &DriverConfig{AllowedTargetWebsites: []string{"*"}, AllowedAppPoolIdentities: []string{"ApplicationPoolIdentity"}},
			`target_website: "NOMAD-abc-web" starts with "nomad-"`},
		{"target website root application", `config {
  target_website = "Default Web Site"
  application { path = "local" }
}`, &restricted, `application[0].alias: a task with target_website cannot use the root application`},
		{"binding type", binding("type = \"ftp\"\nport = \"http\""), nil,
			`binding[0].type: "ftp" is not allowed; use "http" or "https"`},
		{"binding unknown label", binding("type = \"http\"\nport = \"admin\""), nil,
			`binding[0].port: "admin" is not a port label of this task; use one of "http" or "https"`},
		{"binding static port without hostname", binding("type = \"http\"\nport = 80"), nil,
			`binding[0].port: static port 80 needs a hostname`},
		{"binding port out of range", binding("type = \"http\"\nport = 70000\nhostname = \"a.b\""), nil,
			`binding[0].port: 70000 is out of range; use 1 to 65535 or a port label`},
		{"binding ip address", binding("type = \"http\"\nport = \"http\"\nip_address = \"localhost\""), nil,
			`binding[0].ip_address: "localhost" is not an IP address; use an address of this node or "*"`},
		{"binding hostname", binding("type = \"http\"\nport = \"http\"\nhostname = \"shop example\""), nil,
			`binding[0].hostname: "shop example" is not a host name`},
		{"duplicate binding", `config {
  application { path = "local" }
  binding {
    type = "http"
    port = "http"
  }
  binding {
    type = "http"
    port = "http"
  }
}`, nil, `binding[1]: binding *:8080: is the same as binding[0]`},
		{"too many bindings", func() string {
			s := "config {\n  application { path = \"local\" }\n"
			for range 65 {
				s += "  binding {\n    type = \"http\"\n    port = \"http\"\n  }\n"
			}
			return s + "}"
		}(), nil, `binding: 65 blocks given; at most 64 are allowed`},
		{"https without certificate", binding("type = \"https\"\nport = \"https\""), nil,
			`binding[0].certificate: an https binding needs a certificate block`},
		{"two certificates", binding("type = \"https\"\nport = \"https\"\ncertificate { use_self_signed = true }\ncertificate { use_self_signed = true }"), nil,
			`binding[0].certificate: 2 blocks given; at most one is allowed`},
		{"empty certificate", binding("type = \"https\"\nport = \"https\"\ncertificate {}"), nil,
			`binding[0].certificate: set one of thumbprint, pfx_file, cert_file + key_file or use_self_signed`},
		{"bad thumbprint", binding("type = \"https\"\nport = \"https\"\ncertificate { thumbprint = \"abc\" }"), nil,
			`binding[0].certificate.thumbprint: "abc" is not a SHA-1 thumbprint (40 hex digits)`},
		{"missing pfx", binding("type = \"https\"\nport = \"https\"\ncertificate { pfx_file = \"secrets/none.pfx\" }"), nil,
			`binding[0].certificate.pfx_file: "secrets/none.pfx" cannot be read`},
		{"cert without key", binding("type = \"https\"\nport = \"https\"\ncertificate { cert_file = \"a.pem\" }"), nil,
			`binding[0].certificate: cert_file and key_file go together; set both`},
		{"sni without hostname", binding("type = \"https\"\nport = \"https\"\nrequire_sni = true\ncertificate { use_self_signed = true }"), nil,
			`binding[0].require_sni: SNI needs a hostname`},
		{"provider without name", `config {
  application { path = "local" }
  service_auto_start_provider {
    name = " "
    type = "T"
  }
}`, nil, `service_auto_start_provider[0].name: must not be empty`},
		{"duplicate provider", `config {
  application { path = "local" }
  service_auto_start_provider {
    name = "w"
    type = "T"
  }
  service_auto_start_provider {
    name = "W"
    type = "T"
  }
}`, nil, `service_auto_start_provider[1].name: "W" is already the name of service_auto_start_provider[0]`},
		{"app log file outside the task", `config {
  application { path = "local" }
  app_log_file = "../../etc/passwd"
}`, nil, `app_log_file: "../../etc/passwd" is not a relative path inside the task directory`},
		{"app log file absolute", `config {
  application { path = "local" }
  app_log_file = "/var/log/app.log"
}`, nil, `app_log_file: "/var/log/app.log" is not a relative path inside the task directory`},
		{"idle timeout not in whole minutes", pool(`idle_timeout = "90s"`), nil,
			`application_pool[0].idle_timeout: "90s" is not a whole number of minutes (IIS takes processModel.idleTimeout in whole minutes from 0s to 30 days)`},
		{"idle timeout above 30 days", pool(`idle_timeout = "31d"`), nil,
			`application_pool[0].idle_timeout: "31d" is too long (IIS takes processModel.idleTimeout in whole minutes from 0s to 30 days)`},
		{"periodic restart not in whole minutes", pool(`periodic_restart = "01:00:30"`), nil,
			`application_pool[0].periodic_restart: "01:00:30" is not a whole number of minutes (IIS takes recycling.periodicRestart.time in whole minutes from 0s to 300 days)`},
		{"start time limit not in whole seconds", pool(`start_time_limit = "1500ms"`), nil,
			`application_pool[0].start_time_limit: "1500ms" is not a whole number of seconds (IIS takes processModel.startupTimeLimit in whole seconds`},
		{"extension time span not in whole minutes", pool("extension {\n name = \"processModel.idleTimeout\"\n value = \"00:01:30\"\n}"), nil,
			`application_pool[0].extension[0].value: attribute "processModel.idleTimeout": "00:01:30": IIS takes processModel.idleTimeout in whole minutes`},
		{"extension enumeration", pool("extension {\n name = \"cpu.action\"\n value = \"Kill\"\n}"), nil,
			`application_pool[0].extension[0].value: attribute "cpu.action": "Kill" is not one of NoAction, KillW3wp, Throttle, ThrottleUnderLoad`},
		{"two non-SNI https bindings with two certificates on one port", `config {
  application { path = "local" }
  binding {
    type = "https"
    port = 443
    hostname = "a.example.test"
    certificate { use_self_signed = true }
  }
  binding {
    type = "https"
    port = 443
    hostname = "b.example.test"
    certificate { use_self_signed = true }
  }
}`, nil, `binding[1]: conflicts with binding[0]: https *:443:a.example.test and https *:443:b.example.test: without SNI, HTTP.sys holds one certificate per IP:port`},
		{"http and https on one port", `config {
  application { path = "local" }
  binding {
    type = "http"
    port = 8443
    hostname = "a.example.test"
  }
  binding {
    type = "https"
    port = 8443
    ip_address = "127.0.0.1"
    hostname = "b.example.test"
    certificate { use_self_signed = true }
  }
}`, nil, `binding[1]: conflicts with binding[0]: http *:8443:a.example.test and https 127.0.0.1:8443:b.example.test: one IP:port serves either http or https`},
		{"one SNI host name with two certificates", `config {
  application { path = "local" }
  binding {
    type = "https"
    port = 443
    ip_address = "10.0.0.4"
    hostname = "a.example.test"
    require_sni = true
    certificate { thumbprint = "0123456789ABCDEF0123456789ABCDEF01234567" }
  }
  binding {
    type = "https"
    port = 443
    ip_address = "10.0.0.5"
    hostname = "a.example.test"
    require_sni = true
    certificate { thumbprint = "1123456789ABCDEF0123456789ABCDEF01234567" }
  }
}`, nil, `binding[1]: conflicts with binding[0]: https 10.0.0.4:443:a.example.test (SNI) and https 10.0.0.5:443:a.example.test (SNI): SNI certificates are registered by host name and port`},
		{"provider named in another case", `config {
  application {
    path = "local"
    service_auto_start_enabled = true
    service_auto_start_provider = "warmup"
  }
  service_auto_start_provider {
    name = "Warmup"
    type = "T"
  }
}`, nil, `application[0].service_auto_start_provider: "warmup" is not "Warmup": IIS compares provider names case-sensitively`},
		{"all problems reported at once", `config {
  application_pool {
    name = "toolongname"
    start_mode = "x"
  }
  application { path = "" }
}`, nil, `invalid task config (3 problems)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := planFor(t, c.hcl, c.node)
			must.ErrorContains(t, err, c.want)
		})
	}
}

func TestConfig_LongTaskName(t *testing.T) {
	t.Parallel()
	_, err := siteName(testAllocID, "a-task-name-that-is-far-too-long")
	must.ErrorContains(t, err, "shorten the task name by 11 characters")
	_, err = poolName(testAllocID, "web", "frontend")
	must.NoError(t, err)
	_, err = poolName(testAllocID, "web-frontend-api", "frontend")
	must.ErrorContains(t, err, "shorten the task name or the application_pool name by 4 characters")
}

// TestConfig_LongTaskNameReportedOnce checks that a task name too long for
// IIS is reported once, although the site and its default pool both take
// the name.
func TestConfig_LongTaskNameReportedOnce(t *testing.T) {
	t.Parallel()
	_, err := planNamed(t, t.TempDir(), "a-task-name-that-is-far-too-long", `config { application { path = "local" } }`, nil)
	must.Error(t, err)
	must.Eq(t, 1, strings.Count(err.Error(), "shorten the task name by 11 characters"), must.Sprint(err))
}

func TestNaming(t *testing.T) {
	t.Parallel()
	cases := []struct {
		alloc, task, pool, want string
	}{
		{"a1", "web", "default", "nomad-a1-web"},
		{"a1", "web", "DEFAULT", "nomad-a1-web"},
		{"a1", "web", "api", "nomad-a1-web-api"},
		{"a1", "my web:app", "x/y", "nomad-a1-my_web_app-x_y"},
		{"a1", `a"b<c>d*e?f|g\h`, "default", "nomad-a1-a_b_c_d_e_f_g_h"},
	}
	for _, c := range cases {
		got, err := poolName(c.alloc, c.task, c.pool)
		must.NoError(t, err)
		must.Eq(t, c.want, got)
	}
	site, err := siteName("a1", "web site")
	must.NoError(t, err)
	must.Eq(t, "nomad-a1-web_site", site)
}

func TestBuildEnv(t *testing.T) {
	t.Parallel()
	env, dropped := buildEnv(map[string]string{
		"GREETING":   "hello",
		"Path":       "/usr/bin",
		"OVERRIDDEN": "job value",
		"EMPTY":      "",
		"dup":        "lower",
		"DUP":        "upper",
		"TMP":        "/elsewhere",
		"temp":       "/elsewhere",
	}, []string{"PATH=/usr/bin", "OVERRIDDEN=host value"}, "/alloc/web/tmp")
	must.Eq(t, []ps.EnvVar{
		{Name: "DUP", Value: "upper"},
		{Name: "GREETING", Value: "hello"},
		{Name: "OVERRIDDEN", Value: "job value"},
		{Name: "TMP", Value: "/alloc/web/tmp"},
		{Name: "TEMP", Value: "/alloc/web/tmp"},
	}, env)
	must.Eq(t, []string{"EMPTY"}, dropped)
}

func TestPlanTask_EmptyEnvironmentValuesAreDroppedWithAWarning(t *testing.T) {
	t.Parallel()
	tc, err := parseTask(t, `config {
  application {
    path = "local"
  }
}`)
	must.NoError(t, err)
	d := defaultDriverConfig()
	settings, err := d.resolve()
	must.NoError(t, err)
	allocDir := t.TempDir()
	ports := structs.AllocatedPorts{{Label: "http", Value: 8080, HostIP: "127.0.0.1"}}
	cfg := &drivers.TaskConfig{
		ID:        testAllocID + "/web/1",
		AllocID:   testAllocID,
		Name:      "web",
		AllocDir:  allocDir,
		Env:       map[string]string{"GREETING": "hello", "EMPTY": "", "NOMAD_META_owner": ""},
		Resources: &drivers.Resources{Ports: &ports, NomadResources: &structs.AllocatedTaskResources{}},
	}
	p, err := planTask(tc, cfg, settings, nil)
	must.NoError(t, err)
	must.Eq(t, []string{`env: empty value, not set for the application pools: "EMPTY", "NOMAD_META_owner" (on Windows an empty value means unset, and IIS refuses empty values; a worker inherits the machine's value of such a variable, if it has one)`}, p.warnings)
	for _, pool := range p.spec.AppPools {
		for _, e := range pool.EnvironmentVariables {
			must.NotEq(t, "", e.Value, must.Sprintf("variable %s", e.Name))
		}
		must.SliceContainsFunc(t, pool.EnvironmentVariables, "GREETING", func(e ps.EnvVar, name string) bool { return e.Name == name })
	}
}
