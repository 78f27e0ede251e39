// Command nomad_iis is the Nomad task driver plugin "iis": it runs IIS
// websites as Nomad tasks. Nomad starts it from its plugin directory, with
// the arguments of the agent's plugin "nomad_iis" block:
//
//	plugin "nomad_iis" {
//	  args = ["--management-api-port=5004", "--management-api-key=..."]
//	  config { ... }
//	}
//
// The hidden subcommand "nomad_iis iissim ..." runs iissim, the IIS
// stand-in for Linux and macOS, which the driver starts as its backend
// there.
package main

import (
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins"
	"github.com/nomad-iis/nomad-iis/driver"
	"github.com/nomad-iis/nomad-iis/ps/sim"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "iissim" {
		exe, err := os.Executable()
		if err != nil {
			exe = os.Args[0]
		}
		os.Exit(sim.Main([]string{exe, "iissim"}, os.Args[2:]))
	}
	opts := mustParseArgs()

	var d *driver.Driver
	var stopAPI func()
	plugins.Serve(func(logger hclog.Logger) interface{} {
		d = driver.New(logger, driver.Options{ManagementAPIPort: opts.api.Port})
		stopAPI = startManagementAPI(d, opts.api, logger)
		return d
	})
	if stopAPI != nil {
		stopAPI()
	}
	if d != nil {
		d.Shutdown()
	}
}

// startManagementAPI starts the Management API when a port is given and
// returns the function that stops it.
//
// NOT WIRED YET: the Management API (package api) is connected here, with
// registry{d} as its api.Registry and d.PoolClient() as its api.IIS (so that
// pools it stops on purpose do not end their task); until then a
// configured port only logs a warning.
func startManagementAPI(d *driver.Driver, f managementFlags, logger hclog.Logger) func() {
	if f.Port == 0 {
		return nil
	}
	logger.Warn("the Management API is not wired into this build yet", "port", f.Port)
	return nil
}
