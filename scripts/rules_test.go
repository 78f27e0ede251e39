package scripts

import (
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/ps/iisrules"
	"github.com/shoenig/test/must"
)

// The PowerShell module keeps its own copy of IIS's rules: it cannot import
// Go. These tests read the module's tables (allowed values, forbidden name
// characters, limits, the attribute each duration sets) from its source
// and hold them equal to ps/iisrules, which the driver and iissim enforce.

var (
	// scriptTable is `$script:Name = @('a', 'b')` or `$script:Name = 'text'`.
	scriptTable = regexp.MustCompile(`(?m)^\$script:([A-Za-z]+)\s*=\s*(@\((?:[^()]|\n)*?\)|'(?:[^']|'')*')\s*$`)
	// singleQuoted is one PowerShell single-quoted string ('' escapes ').
	singleQuoted = regexp.MustCompile(`'((?:[^']|'')*)'`)
	// oneOfCall is an Assert-OneOf call for a field, with its -Allowed
	// argument: an inline array or a $script: table.
	oneOfCall = regexp.MustCompile(`Assert-OneOf\s+-Field\s+\(\$Field\s*\+\s*'\.([A-Za-z]+)'\)[^\n]*?-Allowed\s+(@\([^)]*\)|\$script:[A-Za-z]+)`)
	// durationSetting is one row of $script:AppPoolSettings for a duration.
	durationSetting = regexp.MustCompile(`@\{\s*Field\s*=\s*'([A-Za-z]+)';\s*Attribute\s*=\s*'([A-Za-z.]+)';\s*Milliseconds\s*=\s*\$true\s*\}`)
	// durationRule is one row of Assert-AppPoolSpec's $durationRules:
	// range and granularity in seconds.
	durationRule = regexp.MustCompile(`@\{\s*Name\s*=\s*'([A-Za-z]+)';\s*Minimum\s*=\s*(\d+);\s*Maximum\s*=\s*(\d+);\s*Step\s*=\s*(\d+)\s*\}`)
)

// psStrings returns the single-quoted strings of a PowerShell expression.
func psStrings(expr string) []string {
	var out []string
	for _, m := range singleQuoted.FindAllStringSubmatch(expr, -1) {
		out = append(out, strings.ReplaceAll(m[1], "''", "'"))
	}
	return out
}

// tables maps each $script: table of the module to its strings.
func (m *module) tables() map[string][]string {
	out := map[string][]string{}
	for _, f := range m.files {
		for _, t := range scriptTable.FindAllStringSubmatch(f.text, -1) {
			out[t[1]] = psStrings(t[2])
		}
	}
	return out
}

// resolve returns the strings of an inline array or of a $script: table.
func (m *module) resolve(t *testing.T, expr string) []string {
	t.Helper()
	if name, ok := strings.CutPrefix(expr, "$script:"); ok {
		values, found := m.tables()[name]
		must.True(t, found, must.Sprintf("the module defines no table $script:%s", name))
		return values
	}
	return psStrings(expr)
}

// charSet renders the characters of s sorted and deduplicated.
func charSet(s string) string {
	r := []rune(s)
	sort.Slice(r, func(i, j int) bool { return r[i] < r[j] })
	return string(slices.Compact(r))
}

func TestModuleTables_EqualIISRules(t *testing.T) {
	t.Parallel()
	m := loadModule(t)
	tables := m.tables()

	t.Run("pool identities", func(t *testing.T) {
		must.Eq(t, iisrules.PoolIdentities, tables["PoolIdentities"])
	})
	t.Run("forbidden name characters", func(t *testing.T) {
		names, aliases := tables["BadNameCharacters"], tables["BadAliasCharacters"]
		must.Len(t, 1, names)
		must.Len(t, 1, aliases)
		must.EqOp(t, charSet(iisrules.BadNameChars), charSet(names[0]))
		must.EqOp(t, charSet(iisrules.BadAliasChars), charSet(aliases[0]))
	})

	// The enumerations Assert-AppPoolSpec checks, by the contract's field.
	t.Run("allowed values", func(t *testing.T) {
		want := map[string][]string{
			"identity":                 iisrules.PoolIdentities,
			"managedPipelineMode":      iisrules.PipelineModes,
			"startMode":                iisrules.StartModes,
			"loadBalancerCapabilities": iisrules.LoadBalancerCapabilities,
		}
		text := m.text()
		got := map[string][]string{}
		for _, call := range oneOfCall.FindAllStringSubmatch(text, -1) {
			if _, ok := want[call[1]]; ok {
				got[call[1]] = m.resolve(t, call[2])
			}
		}
		must.Eq(t, want, got)

		runtime := regexp.MustCompile(`(@\([^)]*\)|\$script:[A-Za-z]+)\s+-notcontains\s+\[System\.String\]\s+\$runtime`).FindStringSubmatch(text)
		must.NotNil(t, runtime, must.Sprint("the module checks managedRuntimeVersion against no list"))
		must.Eq(t, iisrules.RuntimeVersions, m.resolve(t, runtime[1]))
	})

	t.Run("limits", func(t *testing.T) {
		text := m.text()
		checks := []struct {
			what string
			re   string
			want iisrules.IntRange
		}{
			{"queueLength", `\$queueLength -lt (\d+) -or \[System\.Int64\] \$queueLength -gt (\d+)`, iisrules.QueueLength},
			{"binding port", `\$port -lt (\d+) -or \$port -gt (\d+)`, iisrules.Port},
		}
		for _, c := range checks {
			got := regexp.MustCompile(c.re).FindStringSubmatch(text)
			must.NotNil(t, got, must.Sprintf("the module has no range check for %s (%s)", c.what, c.re))
			lo, _ := strconv.ParseInt(got[1], 10, 64)
			hi, _ := strconv.ParseInt(got[2], 10, 64)
			must.Eq(t, [2]int64{c.want.Min, c.want.Max}, [2]int64{lo, hi}, must.Sprint(c.what))
		}
		poolName := regexp.MustCompile(`Assert-ObjectName -Field \(\$Field \+ '\.name'\)[^\n]*-MaxLength (\d+)`).FindStringSubmatch(text)
		must.NotNil(t, poolName, must.Sprint("the module does not limit the length of pool names"))
		must.EqOp(t, strconv.Itoa(iisrules.MaxPoolNameLength), poolName[1])
	})

	// Each duration of the contract sets the attribute whose range and
	// granularity iisrules holds it to.
	t.Run("duration attributes", func(t *testing.T) {
		want := map[string]string{
			"idleTimeoutMs":       iisrules.IdleTimeout.Attribute,
			"periodicRestartMs":   iisrules.PeriodicRestart.Attribute,
			"startupTimeLimitMs":  iisrules.StartupTimeLimit.Attribute,
			"shutdownTimeLimitMs": iisrules.ShutdownTimeLimit.Attribute,
		}
		got := map[string]string{}
		for _, row := range durationSetting.FindAllStringSubmatch(m.text(), -1) {
			got[row[1]] = row[2]
		}
		must.Eq(t, want, got)
	})

	// The range and granularity the module checks each duration against
	// before it touches IIS (D8) are iisrules' own, in seconds.
	t.Run("duration ranges", func(t *testing.T) {
		seconds := func(r iisrules.TimeSpanRange) [3]int64 {
			return [3]int64{int64(r.Min / time.Second), int64(r.Max / time.Second), int64(r.Granularity / time.Second)}
		}
		want := map[string][3]int64{
			"idleTimeoutMs":       seconds(iisrules.IdleTimeout),
			"periodicRestartMs":   seconds(iisrules.PeriodicRestart),
			"startupTimeLimitMs":  seconds(iisrules.StartupTimeLimit),
			"shutdownTimeLimitMs": seconds(iisrules.ShutdownTimeLimit),
		}
		got := map[string][3]int64{}
		for _, row := range durationRule.FindAllStringSubmatch(m.text(), -1) {
			var v [3]int64
			for i := range v {
				v[i], _ = strconv.ParseInt(row[i+2], 10, 64)
			}
			got[row[1]] = v
		}
		must.Eq(t, want, got)
	})
}

// TestModuleTables_ParseFailsOnDifference checks that the parsing above
// sees a difference: a module whose table lacks a value is not equal.
func TestModuleTables_ParseFailsOnDifference(t *testing.T) {
	t.Parallel()
	src, err := parsePS("x.ps1", "$script:PoolIdentities = @('ApplicationPoolIdentity', 'LocalSystem')\n$script:BadNameCharacters = '\\/?'\n")
	must.NoError(t, err)
	m := &module{files: []*psSource{src}}
	tables := m.tables()
	must.NotEq(t, iisrules.PoolIdentities, tables["PoolIdentities"])
	must.Eq(t, []string{"ApplicationPoolIdentity", "LocalSystem"}, tables["PoolIdentities"])
	must.NotEq(t, charSet(iisrules.BadNameChars), charSet(tables["BadNameCharacters"][0]))
	must.Eq(t, []string{"it's"}, psStrings(`@('it''s')`))
}
