package driver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/nomad-iis/nomad-iis/ps/iisrules"
)

// extensions validates extension blocks and returns them as attributes.
// The value of an attribute that schema knows is checked against IIS's type,
// range and granularity for it; other attributes are left to IIS, whose
// installed schema may have more than the contract's tables.
func (v *validator) extensions(field string, exts []ExtensionConfig, schema map[string]iisrules.Attr) []ps.Attribute {
	var out []ps.Attribute
	for i, e := range exts {
		name := strings.TrimSpace(e.Name)
		if !attributeName.MatchString(name) {
			v.fail(fmt.Sprintf("%s.extension[%d].name", field, i), "%q is not an attribute name; use an IIS attribute such as \"autoStart\" or \"processModel.maxProcesses\"", e.Name)
			continue
		}
		if a, known := schema[name]; known {
			if err := a.Check(e.Value); err != nil {
				v.fail(fmt.Sprintf("%s.extension[%d].value", field, i), "attribute %q: %v", name, err)
				continue
			}
		}
		out = append(out, ps.Attribute{Name: name, Value: e.Value})
	}
	return out
}

// enum matches value case-insensitively against allowed and returns the
// canonical spelling; "" is accepted as "not set". Numbers are not enum
// values, whatever their value.
func (v *validator) enum(field, value string, allowed []string) (string, bool) {
	if value == "" {
		return "", true
	}
	if c, ok := canonical(value, allowed); ok {
		return c, true
	}
	v.fail(field, "%q is not allowed; use %s", value, quoteList(allowed))
	return "", false
}

// duration parses an optional duration and holds it to IIS's range and
// granularity for the attribute it sets (ps/iisrules), in milliseconds.
func (v *validator) duration(field, value string, rule iisrules.TimeSpanRange) *int64 {
	if value == "" {
		return nil
	}
	d, err := parseDuration(value)
	if err != nil {
		v.fail(field, "%v", err)
		return nil
	}
	if err := rule.Check(d); err != nil {
		switch {
		case d < rule.Min:
			v.fail(field, "%q is too short; use at least %s (%v)", value, rule.Min, err)
		case d > rule.Max:
			v.fail(field, "%q is too long (%v)", value, err)
		default:
			v.fail(field, "%q is not a whole number of %s (%v)", value, granularityUnit(rule.Granularity), err)
		}
		return nil
	}
	ms := d.Milliseconds()
	return &ms
}

// granularityUnit names a duration granularity: "minutes", "seconds".
func granularityUnit(g time.Duration) string {
	switch g {
	case time.Minute:
		return "minutes"
	case time.Second:
		return "seconds"
	}
	return "multiples of " + g.String()
}

// alias normalises an application or virtual directory alias: slashes
// around it are dropped ("/" is the root) and its segments checked.
func (v *validator) alias(field, alias string) string {
	a, err := iisrules.NormalizeAlias(alias)
	if err != nil {
		v.fail(field, "%v", err)
	}
	return a
}

// physicalPath resolves a path below the task directory unless absolute,
// and checks that it stays in the allocation (hostpaths.go).
func (v *validator) physicalPath(field, path, taskDir string) string {
	path = strings.TrimSpace(path)
	if path == "" {
		v.fail(field, "must not be empty; use a directory such as \"local\"")
		return ""
	}
	abs := resolvePath(path, taskDir)
	if problem := v.paths.check(path, abs); problem != "" {
		v.fail(field, "%q %s", path, problem)
		return ""
	}
	return abs
}

// existingFile resolves a file below the task directory, checks that it
// stays in the allocation (hostpaths.go), exists and is not empty. Files
// outside are not looked at, so that errors tell nothing about them.
func (v *validator) existingFile(field, path, taskDir string) string {
	abs := resolvePath(path, taskDir)
	if problem := v.paths.check(path, abs); problem != "" {
		v.fail(field, "%q %s", path, problem)
		return ""
	}
	fi, err := os.Stat(abs)
	switch {
	case err != nil:
		v.fail(field, "%q cannot be read: %v", path, errors.Unwrap(err))
		return ""
	case fi.IsDir():
		v.fail(field, "%q is a directory; name a file", path)
		return ""
	case fi.Size() == 0:
		v.fail(field, "%q is empty", path)
		return ""
	}
	return abs
}

// resolvePath makes path absolute against taskDir. Forward slashes are
// accepted on Windows, as in nomad-iis.
func resolvePath(path, taskDir string) string {
	path = filepath.FromSlash(path)
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(taskDir, path)
}

// accountOf is the Windows account a pool's workers run as.
func accountOf(identity, pool, username string) string {
	switch identity {
	case identityLocalSystem:
		return `NT AUTHORITY\SYSTEM`
	case identityLocalService:
		return `NT AUTHORITY\LOCAL SERVICE`
	case identityNetworkService:
		return `NT AUTHORITY\NETWORK SERVICE`
	case identitySpecificUser:
		return username
	default:
		return `IIS AppPool\` + pool
	}
}

// canonical finds value in allowed, ignoring case.
func canonical(value string, allowed []string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimSpace(value), a) {
			return a, true
		}
	}
	return "", false
}

// allowedName reports whether name is in list (case-insensitively) or list has "*".
func allowedName(name string, list []string) bool {
	for _, a := range list {
		if a == "*" || strings.EqualFold(strings.TrimSpace(a), name) {
			return true
		}
	}
	return false
}

// quoteList renders `"a", "b" or "c"`.
func quoteList(items []string) string { return iisrules.QuoteList(items) }

// quoteListOrNone is quoteList, or "none" for an empty list.
func quoteListOrNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return quoteList(items)
}

// displayAlias shows the root alias as "/".
func displayAlias(a string) string {
	if a == "" {
		return "/"
	}
	return a
}

// joinErrors renders several errors as one, each on its own line after a
// summary, so that `nomad alloc status` shows all of them at once.
func joinErrors(summary string, errs []error) error {
	if len(errs) == 1 {
		return fmt.Errorf("%s: %w", summary, errs[0])
	}
	return fmt.Errorf("%s (%d problems):\n%w", summary, len(errs), errors.Join(errs...))
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
