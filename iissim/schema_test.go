//go:build !windows

package iissim

import (
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

func TestParseTimeSpan(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"00:20:00", 20 * time.Minute, true},
		{"1.05:00:00", 29 * time.Hour, true},
		{"00:00:01.5", 1500 * time.Millisecond, true},
		{"00:00:00.0000001", 100 * time.Nanosecond, true},
		{" 00:01:30 ", 90 * time.Second, true},
		{"24:00:00", 0, false},
		{"00:60:00", 0, false},
		{"20m", 0, false},
		{"-1.00:00:00", 0, false},
		{"00:00:00.12345678", 0, false},
		{"", 0, false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseTimeSpan(c.in)
			if !c.ok {
				must.Error(t, err)
				return
			}
			must.NoError(t, err)
			must.EqOp(t, c.want, got)
		})
	}
}

func TestCheckAttributes(t *testing.T) {
	cases := []struct {
		name  string
		attrs []ps.Attribute
		err   string
	}{
		{"known attributes", []ps.Attribute{
			{Name: "processModel.maxProcesses", Value: "4"},
			{Name: "recycling.periodicRestart.time", Value: "01:00:00"},
			{Name: "failure.rapidFailProtection", Value: "False"},
			{Name: "cpu.action", Value: "killw3wp"},
			{Name: "CLRConfigFile", Value: `C:\app\clr.config`},
		}, ""},
		{"unknown attribute", []ps.Attribute{{Name: "processModel.bogus", Value: "1"}}, `unrecognized attribute "processModel.bogus"`},
		{"names are case-sensitive", []ps.Attribute{{Name: "QueueLength", Value: "1000"}}, `unrecognized attribute "QueueLength"`},
		{"not a number", []ps.Attribute{{Name: "queueLength", Value: "many"}}, "non-negative integer"},
		{"not a boolean", []ps.Attribute{{Name: "autoStart", Value: "yes"}}, "true or false"},
		{"not a time span", []ps.Attribute{{Name: "processModel.idleTimeout", Value: "20m"}}, "time span"},
		{"not in the enumeration", []ps.Attribute{{Name: "startMode", Value: "Sometimes"}}, "OnDemand, AlwaysRunning"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkAttributes("appPools[0].attributes", poolSchema, c.attrs)
			if c.err == "" {
				must.NoError(t, err)
				return
			}
			must.ErrorContains(t, err, c.err)
			must.ErrorContains(t, err, "appPools[0].attributes")
			must.EqOp(t, ps.KindInvalidArgument, errorKind(err))
		})
	}
}

func TestPoolConfig_EffectiveSettings(t *testing.T) {
	ms := func(v int64) *int64 { return &v }
	yes := true
	cases := []struct {
		name  string
		pool  poolConfig
		check func(t *testing.T, p *poolConfig)
	}{
		{"IIS defaults", poolConfig{}, func(t *testing.T, p *poolConfig) {
			must.EqOp(t, "OnDemand", p.startMode())
			must.EqOp(t, "HttpLevel", p.loadBalancerCapabilities())
			must.EqOp(t, 1, p.maxProcesses())
			must.EqOp(t, 20*time.Minute, p.idleTimeout())
			must.EqOp(t, 1740*time.Minute, p.periodicRestart())
			must.EqOp(t, 90*time.Second, p.shutdownTimeLimit())
			must.False(t, p.disallowOverlappingRotation())
		}},
		{"typed settings", poolConfig{AppPoolSpec: ps.AppPoolSpec{
			StartMode: "AlwaysRunning", LoadBalancerCapabilities: "TcpLevel", IdleTimeoutMs: ms(0),
			ShutdownTimeLimitMs: ms(2500), DisallowOverlappingRotation: &yes,
		}}, func(t *testing.T, p *poolConfig) {
			must.EqOp(t, "AlwaysRunning", p.startMode())
			must.EqOp(t, "TcpLevel", p.loadBalancerCapabilities())
			must.EqOp(t, time.Duration(0), p.idleTimeout())
			must.EqOp(t, 2500*time.Millisecond, p.shutdownTimeLimit())
			must.True(t, p.disallowOverlappingRotation())
		}},
		{"attributes win", poolConfig{AppPoolSpec: ps.AppPoolSpec{
			StartMode: "AlwaysRunning", IdleTimeoutMs: ms(1000),
			Attributes: []ps.Attribute{
				{Name: "startMode", Value: "ondemand"},
				{Name: "processModel.idleTimeout", Value: "00:05:00"},
				{Name: "processModel.maxProcesses", Value: "3"},
				{Name: "failure.loadBalancerCapabilities", Value: "tcplevel"},
			},
		}}, func(t *testing.T, p *poolConfig) {
			must.EqOp(t, "OnDemand", p.startMode())
			must.EqOp(t, 5*time.Minute, p.idleTimeout())
			must.EqOp(t, 3, p.maxProcesses())
			must.EqOp(t, "TcpLevel", p.loadBalancerCapabilities())
		}},
		{"maxProcesses 0 is one worker", poolConfig{AppPoolSpec: ps.AppPoolSpec{
			Attributes: []ps.Attribute{{Name: "processModel.maxProcesses", Value: "0"}},
		}}, func(t *testing.T, p *poolConfig) { must.EqOp(t, 1, p.maxProcesses()) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t, &c.pool) })
	}
}
