package driver

import (
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/version"
)

// TestPluginInfo_Version checks that Nomad is told the one version of the
// build (package version), which release builds set with -ldflags -X.
func TestPluginInfo_Version(t *testing.T) {
	d := New(hclog.NewNullLogger(), Options{})
	defer d.Shutdown()
	info, err := d.PluginInfo()
	must.NoError(t, err)
	must.Eq(t, version.Version, info.PluginVersion)
	must.Eq(t, pluginName, info.Name)
}
