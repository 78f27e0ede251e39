// Command nomad_iis is the Nomad task driver plugin "iis": it runs IIS
// websites as Nomad tasks. Nomad starts it from its plugin directory, with
// the arguments of the agent's plugin "nomad_iis" block:
//
//	plugin "nomad_iis" {
//	  args = ["--management-api-port=5004", "--management-api-key=..."]
//	  config { ... }
//	}
//
// "nomad_iis --version" prints "nomad_iis <version>" and exits; Nomad never
// passes it. The hidden subcommand "nomad_iis iissim ..." runs iissim, the IIS
// stand-in for Linux and macOS, which the driver starts as its backend
// there.
package main

import (
	"cmp"
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins"
	"github.com/nomad-iis/nomad-iis/api"
	"github.com/nomad-iis/nomad-iis/driver"
	"github.com/nomad-iis/nomad-iis/iissim"
	"github.com/nomad-iis/nomad-iis/version"
)

func main() {
	if versionRequested(os.Args[1:]) {
		fmt.Println(version.String("nomad_iis"))
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == "iissim" {
		exe, err := os.Executable()
		if err != nil {
			exe = os.Args[0]
		}
		os.Exit(iissim.Main([]string{exe, "iissim"}, os.Args[2:]))
	}
	opts := mustParseArgs()

	var d *driver.Driver
	var stopAPI func()
	plugins.Serve(func(logger hclog.Logger) interface{} {
		d = driver.New(logger, driver.Options{
			ManagementAPIPort:   opts.api.Port,
			ManagementAPIScheme: managementAPIScheme(opts.api),
			ManagementAPIBind:   cmp.Or(opts.api.Bind, api.DefaultBind),
		})
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

// The driver meets the Management API's interfaces without either package
// importing the other.
var (
	_ api.Registry = (*driver.TaskRegistry)(nil)
	_ api.IIS      = (*driver.PoolClient)(nil)
)

// managementAPIScheme is https when the API has a certificate.
func managementAPIScheme(cfg api.Config) string {
	if cfg.TLSCertFile != "" {
		return "https"
	}
	return "http"
}

// startManagementAPI starts the Management API when cfg has a port and
// returns the function that stops it. The API sees the driver's tasks
// through its TaskRegistry and acts on pools through its PoolClient, so
// that pools it stops on purpose do not end their task. A configuration the
// API refuses (a non-loopback bind without a key or secret, a short JWT
// secret, unreadable TLS files) stops the plugin with the reason, rather
// than running without the API the operator asked for.
func startManagementAPI(d *driver.Driver, cfg api.Config, logger hclog.Logger) func() {
	if cfg.Port == 0 {
		return nil
	}
	cfg.ProcdumpSource = d.Procdump
	srv, err := api.New(cfg, d.TaskRegistry(), d.PoolClient(), logger)
	if err != nil {
		logger.Error("cannot start the Management API", "error", err)
		fmt.Fprintf(os.Stderr, "nomad_iis: management API: %v\n", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.ListenAndServe(ctx); err != nil {
			logger.Error("management API stopped", "error", err)
		}
	}()
	return func() {
		cancel()
		_ = srv.Close()
		<-done
	}
}
