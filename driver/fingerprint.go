package driver

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	pstructs "github.com/hashicorp/nomad/plugins/shared/structs"
	"github.com/nomad-iis/nomad-iis/version"
)

// unconfiguredFingerprintInterval is the fingerprint period before SetConfig.
const unconfiguredFingerprintInterval = 10 * time.Second

// handleFingerprint sends a fingerprint at once and then every
// fingerprint_interval until ctx or the driver ends.
func (d *Driver) handleFingerprint(ctx context.Context, ch chan<- *drivers.Fingerprint) {
	defer close(ch)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.ctx.Done():
			return
		case <-timer.C:
		}
		fp, interval := d.buildFingerprint(ctx)
		select {
		case <-ctx.Done():
			return
		case <-d.ctx.Done():
			return
		case ch <- fp:
		}
		timer.Reset(interval)
	}
}

// buildFingerprint asks the backend about IIS and reports the nomad-iis
// driver.iis.* attributes. The driver is healthy when W3SVC (or iissim's
// service) runs, unhealthy with the reason otherwise, and undetected when
// disabled.
func (d *Driver) buildFingerprint(ctx context.Context) (*drivers.Fingerprint, time.Duration) {
	s, iis := d.backend()
	if s == nil || iis == nil {
		return &drivers.Fingerprint{Health: drivers.HealthStateUndetected, HealthDescription: "driver not configured"}, unconfiguredFingerprintInterval
	}
	if !s.Enabled {
		return &drivers.Fingerprint{Health: drivers.HealthStateUndetected, HealthDescription: "driver disabled"}, s.fingerprintInterval
	}
	attrs := map[string]*pstructs.Attribute{
		"driver.iis":                              pstructs.NewBoolAttribute(true),
		"driver.iis.version":                      pstructs.NewStringAttribute(version.Version),
		"driver.iis.backend":                      pstructs.NewStringAttribute(s.Backend),
		"driver.iis.directory_security_enabled":   pstructs.NewBoolAttribute(s.DirectorySecurity),
		"driver.iis.target_websites_enabled":      pstructs.NewBoolAttribute(len(s.AllowedTargetWebsites) > 0),
		"driver.iis.management_api_enabled":       pstructs.NewBoolAttribute(d.opts.ManagementAPIPort > 0),
		"driver.iis.management_api_port":          pstructs.NewIntAttribute(int64(d.opts.ManagementAPIPort), ""),
		"driver.iis.iis_version":                  pstructs.NewStringAttribute("Unknown"),
		"driver.iis.iis_aspnet_core_available":    pstructs.NewBoolAttribute(false),
		"driver.iis.iis_rewrite_module_available": pstructs.NewBoolAttribute(false),
	}
	if d.opts.ManagementAPIPort > 0 {
		attrs["driver.iis.management_api_scheme"] = pstructs.NewStringAttribute(cmp.Or(d.opts.ManagementAPIScheme, "http"))
		attrs["driver.iis.management_api_bind"] = pstructs.NewStringAttribute(cmp.Or(d.opts.ManagementAPIBind, "127.0.0.1"))
	}
	fp := &drivers.Fingerprint{Attributes: attrs}

	cctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	info, err := iis.GetServerInfo(cctx)
	if err != nil {
		d.logger.Warn("fingerprint: cannot reach the IIS backend", "error", err)
		fp.Health = drivers.HealthStateUnhealthy
		fp.HealthDescription = fmt.Sprintf("the IIS backend (%s) does not answer: %v", s.Backend, err)
		return fp, s.fingerprintInterval
	}
	if info.IISVersion != "" {
		attrs["driver.iis.iis_version"] = pstructs.NewStringAttribute(info.IISVersion)
	}
	d.noteServiceStart(s.Backend, info.ServiceStartTime)
	attrs["driver.iis.iis_aspnet_core_available"] = pstructs.NewBoolAttribute(info.AspNetCoreModule)
	attrs["driver.iis.iis_rewrite_module_available"] = pstructs.NewBoolAttribute(info.URLRewrite)
	if info.W3SVCState != "Running" {
		fp.Health = drivers.HealthStateUnhealthy
		fp.HealthDescription = fmt.Sprintf("IIS (w3svc) is not running: its state is %s", info.W3SVCState)
		return fp, s.fingerprintInterval
	}
	fp.Health = drivers.HealthStateHealthy
	fp.HealthDescription = drivers.DriverHealthy
	return fp, s.fingerprintInterval
}
