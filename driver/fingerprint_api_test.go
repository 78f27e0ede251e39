//go:build !windows

package driver

import (
	"context"
	"testing"

	"github.com/hashicorp/nomad/helper/testlog"
	"github.com/hashicorp/nomad/plugins/base"
	dtestutil "github.com/hashicorp/nomad/plugins/drivers/testutils"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/iissim/simtest"
)

// The fingerprint tells a client where the node's Management API is: its
// port, scheme and bind address; nothing of them when the API is off.
func TestIISDriver_Fingerprint_ManagementAPI(t *testing.T) {
	n := newSimNode(t)
	for _, tc := range []struct {
		name string
		opts Options
		want map[string]string
	}{
		{"https on every address", Options{ManagementAPIPort: 5004, ManagementAPIScheme: "https", ManagementAPIBind: "0.0.0.0"},
			map[string]string{"driver.iis.management_api_scheme": "https", "driver.iis.management_api_bind": "0.0.0.0"}},
		{"defaults", Options{ManagementAPIPort: 5004},
			map[string]string{"driver.iis.management_api_scheme": "http", "driver.iis.management_api_bind": "127.0.0.1"}},
		{"off", Options{}, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.SimSelf, opts.SimEnv = n.self, simtest.Env()
			d := New(testlog.HCLogger(t), opts)
			t.Cleanup(d.Shutdown)
			h := dtestutil.NewDriverHarness(t, d)
			cfg := n.driverConfig()
			var raw []byte
			must.NoError(t, base.MsgPackEncode(&raw, &cfg))
			must.NoError(t, h.SetConfig(&base.Config{PluginConfig: raw}))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch, err := h.Fingerprint(ctx)
			must.NoError(t, err)
			fp := <-ch
			port, ok := fp.Attributes["driver.iis.management_api_port"].GetInt()
			must.True(t, ok)
			must.EqOp(t, int64(opts.ManagementAPIPort), port)
			got := map[string]string{}
			for _, k := range []string{"driver.iis.management_api_scheme", "driver.iis.management_api_bind"} {
				if a, ok := fp.Attributes[k]; ok {
					got[k], _ = a.GetString()
				}
			}
			must.Eq(t, tc.want, got)
		})
	}
}
