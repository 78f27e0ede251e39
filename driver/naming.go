package driver

import (
	"fmt"
	"strings"

	"github.com/nomad-iis/nomad-iis/ps/iisrules"
)

const (
	// namePrefix starts the name of every site and pool the driver creates.
	// The Management API and the dangling-resource listing rely on it.
	namePrefix = "nomad-"

	// maxIISNameLength is the longest site or pool name the driver creates.
	// IIS itself accepts longer names, but nomad-iis 0.20 capped them at 64
	// and operators' tooling (log paths, perf counters) expects that.
	maxIISNameLength = 64

	// defaultPoolAlias is the alias of the pool applications use when they
	// name none; its IIS name has no suffix.
	defaultPoolAlias = "default"

	// maxPoolAliasLength is the longest application_pool.name allowed.
	maxPoolAliasLength = 8
)

// invalidNameChars are the characters IIS refuses in site or pool names
// (iisrules.BadNameChars), plus the quote, percent and hash signs and the
// space, which nomad-iis 0.20 replaced too: each becomes "_".
const invalidNameChars = iisrules.BadNameChars + `'%#` + " "

// sanitizeName replaces every character IIS does not accept in a site or
// pool name (and every control character) with "_".
func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(invalidNameChars, r) {
			return '_'
		}
		return r
	}, s)
}

// siteName is the IIS name of a task's site: nomad-<allocId>-<task>.
func siteName(allocID, taskName string) (string, error) {
	return checkNameLength(sanitizeName(namePrefix+allocID+"-"+taskName), "task name")
}

// poolName is the IIS name of one of a task's pools:
// nomad-<allocId>-<task>, then "-<alias>" unless alias is "default".
func poolName(allocID, taskName, alias string) (string, error) {
	name := namePrefix + allocID + "-" + taskName
	what := "task name"
	if !strings.EqualFold(alias, defaultPoolAlias) {
		name += "-" + alias
		what = "task name or the application_pool name"
	}
	return checkNameLength(sanitizeName(name), what)
}

// checkNameLength fails with an error that says by how much to shorten
// what when name is longer than IIS names the driver creates may be.
func checkNameLength(name, what string) (string, error) {
	if n := len([]rune(name)); n > maxIISNameLength {
		return "", fmt.Errorf("the IIS name %q has %d characters, more than the %d allowed: shorten the %s by %d characters",
			name, n, maxIISNameLength, what, n-maxIISNameLength)
	}
	return name, nil
}
