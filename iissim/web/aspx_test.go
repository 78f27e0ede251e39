//go:build !windows

package web

import (
	"testing"

	"github.com/shoenig/test/must"
)

func TestRenderASPX(t *testing.T) {
	env := map[string]string{"GREETING": "<hi> & bye", "EMPTY": ""}
	getenv := func(k string) string { return env[k] }
	cases := []struct {
		name, src, want string
	}{
		{"plain text", "hello", "hello"},
		{"directive left out", `<%@ Page Language="C#" %>x`, "x"},
		{"environment variable", `v=<%= Environment.GetEnvironmentVariable("GREETING") %>.`, "v=<hi> & bye."},
		{"qualified and compact", `<%=System.Environment.GetEnvironmentVariable( "GREETING" );%>`, "<hi> & bye"},
		{"encoded", `<%: Environment.GetEnvironmentVariable("GREETING") %>`, "&lt;hi&gt; &amp; bye"},
		{"missing variable", `[<%= Environment.GetEnvironmentVariable("NOPE") %>]`, "[]"},
		{"pid", `pid=<%= System.Diagnostics.Process.GetCurrentProcess().Id %>`, "pid=4242"},
		{"pid as text", `<%= Process.GetCurrentProcess().Id.ToString() %>`, "4242"},
		{"code block left out", "a<% var x = 1; %>b", "ab"},
		{"comment left out", "a<%-- note --%>b", "ab"},
		{"unknown expression renders empty", `a<%= DateTime.Now %>b`, "ab"},
		{"unterminated block dropped", "a<%= x", "a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			must.EqOp(t, c.want, renderASPX(c.src, getenv, 4242))
		})
	}
}
