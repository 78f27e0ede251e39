package api

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
)

// The plugin logs JSON, and go-plugin re-logs it in the Nomad agent after
// decoding it into a map, where a JSON number becomes a float64 (printed as
// 1.234567e+06). The audit line's counts must come out as integers.
func TestAudit_CountsAreIntegersAfterThePluginHop(t *testing.T) {
	t.Parallel()
	plugin := &testkit.SyncBuffer{}
	e := newEnv(t, func(c *Config) {
		c.AuditLogger = hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: plugin, JSONFormat: true})
	})
	const size = 1234567
	rec := e.do("PUT", taskURL("/fs/local/big.bin"), bytes.NewReader(make([]byte, size)), withKey(testKey))
	must.Eq(t, 200, rec.Code)

	// What go-plugin does with the plugin's line (log_entry.go: parseJSON).
	line, _, _ := strings.Cut(plugin.String(), "\n")
	var raw map[string]any
	must.NoError(t, json.Unmarshal([]byte(line), &raw))
	keys := make([]string, 0, len(raw))
	for k := range raw {
		if !strings.HasPrefix(k, "@") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var args []any
	for _, k := range keys {
		args = append(args, k, raw[k])
	}
	agent := &bytes.Buffer{}
	hclog.New(&hclog.LoggerOptions{Output: agent}).Info("audit", args...)

	out := agent.String()
	must.StrContains(t, out, "bytes_in=1234567")
	must.StrContains(t, out, "status=200")
	must.StrNotContains(t, out, "e+0")
}
