package driver

import (
	"testing"

	"github.com/shoenig/test/must"
)

// TestConfig_IISRulesAccept checks what IIS's rules allow stays allowed:
// durations in IIS's granularity, two non-SNI https bindings of one task
// on one port with the same certificate, SNI bindings of one host name on
// two addresses with the same certificate, and provider names spelled alike.
func TestConfig_IISRulesAccept(t *testing.T) {
	t.Parallel()
	p, err := planFor(t, `config {
  application_pool {
    idle_timeout = "20m"
    periodic_restart = "1d 5h"
    start_time_limit = "00:01:30"
    shutdown_time_limit = "2s"
    extension {
      name = "processModel.pingInterval"
      value = "00:00:45"
    }
  }
  application {
    path = "local"
    service_auto_start_provider = "Warmup"
  }
  service_auto_start_provider {
    name = "Warmup"
    type = "T"
  }
  binding {
    type = "https"
    port = 443
    hostname = "a.example.test"
    certificate { thumbprint = "0123456789ABCDEF0123456789ABCDEF01234567" }
  }
  binding {
    type = "https"
    port = 443
    hostname = "b.example.test"
    certificate { thumbprint = "01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef 01 23 45 67" }
  }
  binding {
    type = "https"
    port = 443
    ip_address = "10.0.0.4"
    hostname = "c.example.test"
    require_sni = true
    certificate { thumbprint = "1123456789ABCDEF0123456789ABCDEF01234567" }
  }
  binding {
    type = "https"
    port = 443
    ip_address = "10.0.0.5"
    hostname = "c.example.test"
    require_sni = true
    certificate { thumbprint = "1123456789ABCDEF0123456789ABCDEF01234567" }
  }
}`, nil)
	must.NoError(t, err)
	pool := p.spec.AppPools[0]
	must.EqOp(t, int64(20*60*1000), *pool.IdleTimeoutMs)
	must.EqOp(t, int64(29*3600*1000), *pool.PeriodicRestartMs)
	must.EqOp(t, int64(90*1000), *pool.StartupTimeLimitMs)
	must.EqOp(t, int64(2000), *pool.ShutdownTimeLimitMs)
	must.Len(t, 4, p.spec.Bindings)
	must.EqOp(t, "Warmup", p.spec.AutoStartProviders[0].Name)
}
