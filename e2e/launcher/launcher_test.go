package launcher

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
	"github.com/shoenig/test/must"
)

func TestCleanEnv(t *testing.T) {
	in := []string{
		"PATH=/usr/bin",
		"AWS_CA_BUNDLE=/etc/ca.pem",
		"TMPDIR=/var/tmp",
		markerEnv + "=other",
		"HOME=/root",
		"NOMAD_IIS_API_KEY=k=v",
	}
	must.Eq(t, []string{"PATH=/usr/bin", "HOME=/root", "NOMAD_IIS_API_KEY=k=v"}, cleanEnv(in))
}

func TestHCLString(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"plain", "/tmp/nomad-iis/data", `"/tmp/nomad-iis/data"`},
		{"windows path", `C:\Temp\nomad iis`, `"C:\\Temp\\nomad iis"`},
		{"quote", `a"b`, `"a\"b"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			must.Eq(t, tc.want, hclString(tc.in))
		})
	}
}

func TestCluster_configs(t *testing.T) {
	c := &Cluster{
		cfg: Config{
			Backend: BackendIISSim, HTTPPort: 4646, RPCPort: 4647, SerfPort: 4648, ClientHTTPPort: 4649,
			ManagementAPIPort: 5004, ManagementAPIKey: "0123abcd", LogLevel: "INFO",
			ExtraPluginConfig:   "allowed_target_websites = [\"*\"]\n",
			PlaywrightDriverDir: "/opt/pw",
		},
		serverAgent: &role{name: "server", dataDir: "/tmp/x/server"},
		clientAgent: &role{name: "client", dataDir: "/tmp/x/client"},
		stateDir:    "/tmp/x/iissim",
	}

	server := c.serverConfig()
	for _, want := range []string{
		`data_dir             = "/tmp/x/server"`,
		`bind_addr            = "127.0.0.1"`,
		"http = 4646\n  rpc  = 4647\n  serf = 4648\n}",
		"bootstrap_expect = 1",
	} {
		must.StrContains(t, server, want)
	}
	must.StrNotContains(t, server, "client {")
	must.StrNotContains(t, server, "plugin")

	client := c.clientConfig()
	for _, want := range []string{
		`data_dir             = "/tmp/x/client"`,
		"ports {\n  http = 4649\n}",
		`servers = ["127.0.0.1:4647"]`,
		`"fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"`,
		`plugin "nomad_iis" {`,
		`args = ["--management-api-port=5004", "--management-api-key=0123abcd", "--management-api-bind=127.0.0.1", "--management-api-playwright-driver=/opt/pw"]`,
		`backend              = "iissim"`,
		`iissim_state_dir     = "/tmp/x/iissim"`,
		`allowed_target_websites = ["*"]`,
	} {
		must.StrContains(t, client, want)
	}
	must.StrNotContains(t, client, "server {")
	must.StrNotContains(t, client, "powershell_path")
	for _, cfg := range []string{server, client} {
		must.Eq(t, strings.Count(cfg, "{"), strings.Count(cfg, "}"))
	}
}

func TestFreePorts(t *testing.T) {
	t.Run("picks distinct free ports", func(t *testing.T) {
		ports, err := freePorts(0, 0, 0)
		must.NoError(t, err)
		must.SliceLen(t, 3, ports)
		must.NotEq(t, ports[0], ports[1])
		must.NotEq(t, ports[1], ports[2])
		for _, p := range ports {
			must.Positive(t, p)
		}
	})
	t.Run("keeps a fixed port that is free", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		must.NoError(t, err)
		free := l.Addr().(*net.TCPAddr).Port
		must.NoError(t, l.Close())
		ports, err := freePorts(free, 0)
		must.NoError(t, err)
		must.Eq(t, free, ports[0])
		must.NotEq(t, free, ports[1])
	})
	t.Run("refuses a fixed port in use", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		must.NoError(t, err)
		defer l.Close()
		_, err = freePorts(l.Addr().(*net.TCPAddr).Port)
		must.ErrorContains(t, err, "in use")
	})
}

func TestAllocPort(t *testing.T) {
	alloc := &api.Allocation{ID: "a1", AllocatedResources: &api.AllocatedResources{
		Shared: api.AllocatedSharedResources{Ports: []api.PortMapping{
			{Label: "admin", Value: 21000}, {Label: "httplabel", Value: 23456},
		}},
	}}
	port, err := AllocPort(alloc, "httplabel")
	must.NoError(t, err)
	must.Eq(t, 23456, port)

	_, err = AllocPort(alloc, "missing")
	must.ErrorContains(t, err, `no port "missing"`)
}

func TestFormatTaskEvents(t *testing.T) {
	alloc := &api.Allocation{TaskStates: map[string]*api.TaskState{
		"app": {Events: []*api.TaskEvent{
			{Type: "Received", DisplayMessage: "Task received by client"},
			{Type: "Driver Failure", Message: "raw message"},
		}},
	}}
	must.Eq(t, "\n  app: Received: Task received by client\n  app: Driver Failure: raw message", FormatTaskEvents(alloc))
}

// TestAlreadyCollected checks the answers a client gives to the garbage
// collection of an allocation, as the api package reports them.
func TestAlreadyCollected(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   bool
	}{
		{"collected before (Nomad 1.6)", http.StatusInternalServerError, "No such allocation on client, or allocation not eligible for GC", true},
		{"other server error", http.StatusInternalServerError, "rpc error: permission denied", false},
		{"not found", http.StatusNotFound, "No such allocation on client", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, tc.body, tc.status)
			}))
			defer srv.Close()
			client, err := api.NewClient(&api.Config{Address: srv.URL})
			must.NoError(t, err)
			err = client.Allocations().GC(&api.Allocation{ID: "865ccefe-6ff2-9f62-9b60-6df36c1ee625", NodeID: "n"}, nil)
			must.Error(t, err)
			must.Eq(t, tc.want, alreadyCollected(err))
		})
	}
	must.False(t, alreadyCollected(io.EOF))
}
