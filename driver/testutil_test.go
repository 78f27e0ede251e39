package driver

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/nomad/helper/pluginutils/hclspecutils"
	"github.com/hashicorp/nomad/helper/pluginutils/hclutils"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/shared/hclspec"
	"github.com/shoenig/test/must"
)

// decodeHCL decodes a `config { ... }` snippet of a job file through spec
// as the Nomad client does (HCL, spec defaults, msgpack) into out. Errors
// of the spec (types, required attributes, unknown names) are returned.
func decodeHCL(t *testing.T, spec *hclspec.Spec, hcl string, out any) error {
	t.Helper()
	dec, diags := hclspecutils.Convert(spec)
	must.False(t, diags.HasErrors(), must.Sprint(diags))
	val, diags, errs := hclutils.ParseHclInterface(hclutils.HclConfigToInterface(t, hcl), dec, nil)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if diags.HasErrors() {
		return diags
	}
	tc := &drivers.TaskConfig{}
	must.NoError(t, tc.EncodeDriverConfig(val))
	return tc.DecodeDriverConfig(out)
}

// parseTask decodes a task's config block.
func parseTask(t *testing.T, hcl string) (*TaskConfig, error) {
	t.Helper()
	var tc TaskConfig
	if err := decodeHCL(t, taskConfigSpec, hcl, &tc); err != nil {
		return nil, err
	}
	return &tc, nil
}

// parseDriver decodes the plugin's config block.
func parseDriver(t *testing.T, hcl string) (*DriverConfig, error) {
	t.Helper()
	var c DriverConfig
	if err := decodeHCL(t, configSpec, hcl, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// testAllocID is the allocation id of the unit tests' tasks.
const testAllocID = "0c1f6e3a-8d4b-4c2e-9a57-3f1b2c4d5e6f"

// planFor validates a task config snippet for task "web" of testAllocID
// with ports "http" (8080) and "https" (8443), on a node with settings s
// (the defaults when nil). files are written (non-empty) below the task
// directory first.
func planFor(t *testing.T, hcl string, s *DriverConfig, files ...string) (*taskPlan, error) {
	t.Helper()
	return planIn(t, t.TempDir(), hcl, s, files...)
}

// planIn is planFor in the allocation directory allocDir.
func planIn(t *testing.T, allocDir, hcl string, s *DriverConfig, files ...string) (*taskPlan, error) {
	t.Helper()
	return planNamed(t, allocDir, "web", hcl, s, files...)
}

// planNamed is planIn for a task named taskName.
func planNamed(t *testing.T, allocDir, taskName, hcl string, s *DriverConfig, files ...string) (*taskPlan, error) {
	t.Helper()
	tc, err := parseTask(t, hcl)
	must.NoError(t, err)
	if s == nil {
		d := defaultDriverConfig()
		s = &d
	}
	settings, err := s.resolve()
	must.NoError(t, err)
	ports := structs.AllocatedPorts{
		{Label: "http", Value: 8080, HostIP: "127.0.0.1"},
		{Label: "https", Value: 8443, HostIP: "127.0.0.1"},
	}
	for _, f := range files {
		path := filepath.Join(allocDir, taskName, filepath.FromSlash(f))
		must.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		must.NoError(t, os.WriteFile(path, []byte("content"), 0o644))
	}
	cfg := &drivers.TaskConfig{
		ID:       testAllocID + "/" + taskName + "/1",
		AllocID:  testAllocID,
		Name:     taskName,
		AllocDir: allocDir,
		Env:      map[string]string{"GREETING": "hello"},
		Resources: &drivers.Resources{
			Ports:          &ports,
			NomadResources: &structs.AllocatedTaskResources{},
		},
	}
	return planTask(tc, cfg, settings, nil)
}
