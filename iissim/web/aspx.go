//go:build !windows

package web

import (
	"html"
	"regexp"
	"strconv"
	"strings"
)

// The two expressions iissim evaluates in .aspx pages: enough for a page
// that shows an environment variable or the worker's PID, and that runs
// unchanged on IIS with ASP.NET.
var (
	envExpr = regexp.MustCompile(`^(?:System\.)?Environment\.GetEnvironmentVariable\(\s*"([^"\\]*)"\s*\)$`)
	pidExpr = regexp.MustCompile(`^(?:(?:System\.)?Diagnostics\.)?Process\.GetCurrentProcess\(\)\.Id(?:\.ToString\(\))?$`)
)

// renderASPX renders a page minimally: each <%= expr %> (raw) or <%: expr %>
// (HTML-encoded) whose expr is Environment.GetEnvironmentVariable("NAME")
// or System.Diagnostics.Process.GetCurrentProcess().Id becomes its value;
// every other <% %> block, directives and comments included, is left out.
func renderASPX(src string, getenv func(string) string, pid int) string {
	var out strings.Builder
	for {
		i := strings.Index(src, "<%")
		if i < 0 {
			out.WriteString(src)
			return out.String()
		}
		out.WriteString(src[:i])
		rest := src[i+2:]
		j := strings.Index(rest, "%>")
		if j < 0 {
			return out.String()
		}
		block := rest[:j]
		src = rest[j+2:]
		encode := false
		switch {
		case strings.HasPrefix(block, "="):
		case strings.HasPrefix(block, ":"):
			encode = true
		default:
			continue
		}
		v := evalExpr(strings.TrimSuffix(strings.TrimSpace(block[1:]), ";"), getenv, pid)
		if encode {
			v = html.EscapeString(v)
		}
		out.WriteString(v)
	}
}

// evalExpr evaluates one of the supported expressions; others render empty.
func evalExpr(expr string, getenv func(string) string, pid int) string {
	expr = strings.TrimSpace(expr)
	if m := envExpr.FindStringSubmatch(expr); m != nil {
		return getenv(m[1])
	}
	if pidExpr.MatchString(expr) {
		return strconv.Itoa(pid)
	}
	return ""
}
