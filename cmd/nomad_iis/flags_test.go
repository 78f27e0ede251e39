package main

import (
	"io"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/api"
)

func TestParseArgs(t *testing.T) {
	noEnv := func(string) string { return "" }
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want api.Config
	}{
		{"no arguments: API off, loopback", nil, nil,
			api.Config{Bind: "127.0.0.1"}},
		{"nomad-iis style with key: all interfaces", []string{"--port=5003", "--management-api-port=5004", "--management-api-key=12345"}, nil,
			api.Config{Port: 5004, APIKeys: []string{"12345"}, Bind: "0.0.0.0"}},
		{"space separated values and several keys", []string{"--management-api-port", "5004", "--management-api-key", "a,b", "--management-api-key=c"}, nil,
			api.Config{Port: 5004, APIKeys: []string{"a", "b", "c"}, Bind: "0.0.0.0"}},
		{"secret from the environment", []string{"--management-api-port=5004"},
			map[string]string{envJWTSecret: "s", envAPIKey: "k1,k2"},
			api.Config{Port: 5004, APIKeys: []string{"k1", "k2"}, JWTSecret: []byte("s"), Bind: "0.0.0.0"}},
		{"explicit bind and TLS", []string{"--management-api-port=5004", "--management-api-bind=10.0.0.5", "--management-api-jwt-secret=x",
			"--management-api-tls-cert=c.pem", "--management-api-tls-key=k.pem"}, nil,
			api.Config{Port: 5004, JWTSecret: []byte("x"), Bind: "10.0.0.5", TLSCertFile: "c.pem", TLSKeyFile: "k.pem"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			getenv := noEnv
			if c.env != nil {
				getenv = func(k string) string { return c.env[k] }
			}
			o, err := parseArgs(c.args, getenv, io.Discard)
			must.NoError(t, err)
			must.Eq(t, c.want, o.api)
		})
	}
}

func TestParseArgs_Rejects(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--udp-logger-port=1"}, "flag provided but not defined"},
		{"bad port", []string{"--management-api-port=70000"}, "is not a TCP port"},
		{"not a number", []string{"--management-api-port=api"}, "invalid value"},
		{"stray argument", []string{"serve"}, `unexpected argument "serve"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseArgs(c.args, func(string) string { return "" }, io.Discard)
			must.ErrorContains(t, err, c.want)
		})
	}
}
