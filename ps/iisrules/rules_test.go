package iisrules

import (
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func TestTimeSpanRange_Check(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		r    TimeSpanRange
		d    time.Duration
		ok   bool
	}{
		{"idle timeout of whole minutes", IdleTimeout, 20 * time.Minute, true},
		{"idle timeout of zero (never)", IdleTimeout, 0, true},
		{"idle timeout of 90s", IdleTimeout, 90 * time.Second, false},
		{"idle timeout of 30 days", IdleTimeout, 30 * 24 * time.Hour, true},
		{"idle timeout above 30 days", IdleTimeout, 30*24*time.Hour + time.Minute, false},
		{"periodic restart of 29h", PeriodicRestart, 29 * time.Hour, true},
		{"periodic restart of 1m30s", PeriodicRestart, 90 * time.Second, false},
		{"periodic restart of 300 days", PeriodicRestart, 300 * 24 * time.Hour, true},
		{"startup limit of 1s", StartupTimeLimit, time.Second, true},
		{"startup limit of 0", StartupTimeLimit, 0, false},
		{"startup limit of 1.5s", StartupTimeLimit, 1500 * time.Millisecond, false},
		{"shutdown limit of 4294967s", ShutdownTimeLimit, 4294967 * time.Second, true},
		{"shutdown limit of 4294968s", ShutdownTimeLimit, 4294968 * time.Second, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.r.Check(c.d)
			if c.ok {
				must.NoError(t, err)
				return
			}
			must.ErrorContains(t, err, c.r.Attribute)
		})
	}
	must.EqError(t, IdleTimeout.Check(90*time.Second), "IIS takes processModel.idleTimeout in whole minutes from 0s to 30 days")
	must.EqError(t, StartupTimeLimit.Check(0), "IIS takes processModel.startupTimeLimit in whole seconds from 1s to 1193h2m47s")
}

func TestParseTimeSpan(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"00:20:00", 20 * time.Minute, ""},
		{"00:20", 20 * time.Minute, ""},
		{"1.05:00:00", 29 * time.Hour, ""},
		{"00:00:01.5", 1500 * time.Millisecond, ""},
		{"00:00:00.0000001", 100 * time.Nanosecond, ""},
		{"24:00:00", 0, "hours"},
		{"00:60", 0, "minutes"},
		{"-00:01:00", 0, "negative"},
		{"20", 0, "HH:mm"},
		{"00:00:00.", 0, "fraction"},
		{"00:00.5", 0, "fraction needs seconds"},
		{"x.00:00:00", 0, "days"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTimeSpan(c.in)
			if c.err != "" {
				must.ErrorContains(t, err, c.err)
				return
			}
			must.NoError(t, err)
			must.EqOp(t, c.want, got)
		})
	}
}

func TestIntRange_Check(t *testing.T) {
	t.Parallel()
	must.NoError(t, QueueLength.Check(10))
	must.NoError(t, QueueLength.Check(65535))
	must.EqError(t, QueueLength.Check(9), "9 is out of range; IIS takes queueLength from 10 to 65535")
	must.Error(t, QueueLength.Check(65536))
	must.NoError(t, Port.Check(1))
	must.Error(t, Port.Check(0))
}

func TestAttr_Check(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, attr, value string
		ok                bool
		mentions          string
	}{
		{"bool", "autoStart", "TRUE", true, ""},
		{"bool not a bool", "autoStart", "yes", false, "true or false"},
		{"enum case-insensitive", "startMode", "alwaysrunning", true, ""},
		{"enum outside", "startMode", "Eager", false, `"Eager" is not one of OnDemand, AlwaysRunning`},
		{"uint", "processModel.maxProcesses", "4", true, ""},
		{"uint negative", "processModel.maxProcesses", "-1", false, "non-negative"},
		{"uint above 32 bits", "recycling.periodicRestart.memory", "4294967296", false, "non-negative"},
		{"uint in range", "queueLength", "4000", true, ""},
		{"uint out of range", "queueLength", "5", false, "from 10 to 65535"},
		{"time span", "processModel.idleTimeout", "00:10:00", true, ""},
		{"time span granularity", "processModel.idleTimeout", "00:01:30", false, "whole minutes"},
		{"time span not a time span", "processModel.idleTimeout", "10m", false, "not a time span"},
		{"rapid-fail interval below a minute", "failure.rapidFailProtectionInterval", "00:00:30", false, "from 1m0s"},
		{"ping interval of whole seconds", "processModel.pingInterval", "00:00:30", true, ""},
		{"ping interval fraction", "processModel.pingInterval", "00:00:30.5", false, "whole seconds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a, ok := PoolAttributes[c.attr]
			must.True(t, ok)
			err := a.Check(c.value)
			if c.ok {
				must.NoError(t, err)
				return
			}
			must.ErrorContains(t, err, c.mentions)
		})
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	must.NoError(t, CheckName("nomad-a1-web", MaxPoolNameLength))
	for _, c := range BadNameChars {
		must.ErrorContains(t, CheckName("a"+string(c)+"b", 0), "refuses in names", must.Sprintf("%q", c))
	}
	// schema: applicationPoolName refuses |<>&\"/[]+=;:,?*@; siteName /?.
	for _, c := range `|<>&\"/[]+=;:,?*@` {
		must.StrContains(t, BadNameChars, string(c))
	}
	must.Error(t, CheckName(" x", 0))
	must.Error(t, CheckName("", 0))
	must.ErrorContains(t, CheckName(strings.Repeat("a", 65), MaxPoolNameLength), "longer than 64")

	for in, want := range map[string]string{"/": "", " /api/ ": "api", "a/b": "a/b"} {
		got, err := NormalizeAlias(in)
		must.NoError(t, err)
		must.EqOp(t, want, got)
	}
	for _, bad := range []string{"a/../b", "a//b", "a?b", `a\b`, "a/ b"} {
		_, err := NormalizeAlias(bad)
		must.Error(t, err, must.Sprint(bad))
	}
}

func TestCheckHostname(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"", "shop.example.test", "*.example.test", "a_b.example", "x"} {
		must.NoError(t, CheckHostname(ok), must.Sprint(ok))
	}
	for _, bad := range []string{"exa mple", "-a.example", "a-.example", "a..b", "*.", "a.*.b", strings.Repeat("a", 254)} {
		must.ErrorContains(t, CheckHostname(bad), "is not a host name", must.Sprint(bad))
	}
}

func TestProviderNames(t *testing.T) {
	t.Parallel()
	must.True(t, ProviderNameEqual("Warmup", "Warmup"))
	must.False(t, ProviderNameEqual("Warmup", "warmup"))
	must.NoError(t, CheckProviderName("Warmup"))
	must.Error(t, CheckProviderName(""))
	must.Error(t, CheckProviderName(" Warmup"))
}

func TestConflict(t *testing.T) {
	t.Parallel()
	http := func(ip string, port int, host string) Binding {
		return Binding{Protocol: "http", IPAddress: ip, Port: port, Hostname: host}
	}
	https := func(ip string, port int, host string, sni bool, cert string) Binding {
		return Binding{Protocol: "https", IPAddress: ip, Port: port, Hostname: host, SNI: sni, Certificate: cert}
	}
	cases := []struct {
		name     string
		a, b     Binding
		sameSite bool
		mentions string // "" when allowed
	}{
		{"different ports", http("*", 80, "a"), http("*", 81, "a"), false, ""},
		{"host headers share a port", http("*", 80, "a"), http("*", 80, "b"), false, ""},
		{"same host on one address", http("*", 80, "a"), http("*", 80, "A"), false, "same host name"},
		{"* against a specific address", http("*", 80, "a"), http("127.0.0.1", 80, "a"), false, "same host name"},
		{"0.0.0.0 against a specific address", http("0.0.0.0", 80, "a"), http("10.0.0.5", 80, "a"), false, "same host name"},
		{"two specific addresses", http("10.0.0.4", 80, "a"), http("10.0.0.5", 80, "a"), false, ""},
		{"* and a specific address in one site", http("*", 80, "a"), http("127.0.0.1", 80, "a"), true, ""},
		{"the same binding twice in one site", http("*", 80, "a"), http("0.0.0.0", 80, "a"), true, "same host name"},
		{"http and https on one endpoint", http("*", 443, "a"), https("10.0.0.5", 443, "b", false, "T1"), false, "either http or https"},
		{"http and https on one endpoint in one site", http("*", 443, "a"), https("*", 443, "b", false, "T1"), true, "either http or https"},
		{"two non-SNI https sites on one IP:port", https("*", 443, "a", false, "T1"), https("*", 443, "b", false, "T2"), false, "one certificate per IP:port"},
		{"two non-SNI https sites sharing a certificate", https("*", 443, "a", false, "T1"), https("*", 443, "b", false, "T1"), false, "one certificate per IP:port"},
		{"non-SNI https * against a specific address", https("*", 443, "a", false, "T1"), https("10.0.0.5", 443, "b", false, "T2"), false, "one certificate per IP:port"},
		{"non-SNI https in one site with one certificate", https("*", 443, "a", false, "T1"), https("*", 443, "b", false, "T1"), true, ""},
		{"non-SNI https in one site with two certificates", https("*", 443, "a", false, "T1"), https("*", 443, "b", false, "T2"), true, "one certificate per IP:port"},
		{"non-SNI https with an unknown certificate", https("*", 443, "a", false, ""), https("*", 443, "b", false, ""), true, "one certificate per IP:port"},
		{"SNI sites with their own host names", https("*", 443, "a", true, "T1"), https("*", 443, "b", true, "T2"), false, ""},
		{"SNI next to a non-SNI default", https("*", 443, "a", true, "T1"), https("*", 443, "", false, "T2"), false, ""},
		{"SNI host:port whatever the address", https("10.0.0.4", 443, "a", true, "T1"), https("10.0.0.5", 443, "a", true, "T2"), false, "whatever the IP address"},
		{"SNI host:port in one site with one certificate", https("10.0.0.4", 443, "a", true, "T1"), https("10.0.0.5", 443, "a", true, "T1"), true, ""},
		{"SNI host:port in one site with two certificates", https("10.0.0.4", 443, "a", true, "T1"), https("10.0.0.5", 443, "a", true, "T2"), true, "whatever the IP address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, pair := range [][2]Binding{{c.a, c.b}, {c.b, c.a}} {
				err := Conflict(pair[0], pair[1], c.sameSite)
				if c.mentions == "" {
					must.NoError(t, err)
					continue
				}
				must.ErrorContains(t, err, c.mentions)
			}
		})
	}
}
