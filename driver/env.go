package driver

import (
	"sort"
	"strings"

	"github.com/nomad-iis/nomad-iis/ps"
)

// buildEnv turns the task's environment into the environment variables of
// its pools' workers. Workers inherit the machine's environment from IIS,
// so a variable whose name and value the plugin process has too is left out
// (that keeps PATH and friends out of applicationHost.config), but one the
// job overrides is kept. Names are de-duplicated ignoring case, as Windows
// does: of two spellings the first in sorted order wins. TMP and TEMP
// always point at the task's own tmp directory.
//
// A variable with an empty value is left out and its name returned in
// dropped: IIS refuses an empty value (environmentVariables/add/@value is
// required and nonEmptyString in its schema), and on Windows an empty value
// means the variable is not set. Both backends skip such a variable too.
func buildEnv(taskEnv map[string]string, hostEnv []string, tmpDir string) (vars []ps.EnvVar, dropped []string) {
	host := make(map[string]string, len(hostEnv))
	for _, kv := range hostEnv {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			host[strings.ToUpper(k)] = v
		}
	}
	names := make([]string, 0, len(taskEnv))
	for k := range taskEnv {
		names = append(names, k)
	}
	sort.Strings(names)

	seen := map[string]bool{"TMP": true, "TEMP": true}
	out := make([]ps.EnvVar, 0, len(names)+2)
	for _, k := range names {
		key := strings.ToUpper(k)
		if k == "" || strings.ContainsAny(k, "=\x00") || seen[key] {
			continue
		}
		seen[key] = true
		v := strings.ReplaceAll(taskEnv[k], "\x00", "")
		if v == "" {
			dropped = append(dropped, k)
			continue
		}
		if hv, ok := host[key]; ok && hv == v {
			continue
		}
		out = append(out, ps.EnvVar{Name: k, Value: v})
	}
	out = append(out, ps.EnvVar{Name: "TMP", Value: tmpDir}, ps.EnvVar{Name: "TEMP", Value: tmpDir})
	return out, dropped
}
