package iisrules

import (
	"fmt"
	"regexp"
	"strings"
)

// BadNameChars are the characters refused in site and pool names. The
// driver's site and pool names (nomad-<alloc>-<task>[-<pool>]) are one
// rule for both, so this is the union of what IIS refuses in either:
//
//   - schema: validationType="applicationPoolName" "fails on these
//     characters: |<>&\"/[]+=;:,?*@" (applicationPools/add/@name);
//   - schema: validationType="siteName" "fails on these characters: /?"
//     (sites/site/@name);
//
// plus "$", which nomad-iis 0.20 refused as well.
const BadNameChars = `\/?;:@&=+$,|"<>*[]`

// BadAliasChars are the characters the contract refuses in application
// and virtual directory aliases. The schema's applicationPath validator
// itself refuses only "." and ".." segments; these are the URL-reserved
// characters that would make an alias mean something else in a request
// URL or a configuration path, plus the Windows path separator, as
// nomad-iis 0.20 refused them.
const BadAliasChars = `\?;:@&=+$,|"<>*`

// MaxPoolNameLength is the longest pool name: the driver's names are at
// most 64 characters (as nomad-iis 0.20's), and iissim holds created pools
// to the same.
const MaxPoolNameLength = 64

// CheckName validates a site or pool name: not empty, no spaces around
// it, none of BadNameChars, and at most maxLen characters when maxLen > 0.
func CheckName(name string, maxLen int) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("a name is required")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%q has leading or trailing spaces", name)
	case strings.ContainsAny(name, BadNameChars):
		return fmt.Errorf("%q contains one of the characters IIS refuses in names (%s)", name, BadNameChars)
	case maxLen > 0 && len([]rune(name)) > maxLen:
		return fmt.Errorf("%q is longer than %d characters", name, maxLen)
	}
	return nil
}

// NormalizeAlias trims the spaces and slashes around an application or
// virtual directory alias ("" is the root) and validates its segments:
// none of BadAliasChars, and no empty, "." or ".." segment
// (schema: validationType="applicationPath": "Segment between two "/"
// cannot be "." or ".."").
func NormalizeAlias(alias string) (string, error) {
	a := strings.Trim(strings.TrimSpace(alias), "/")
	if a == "" {
		return "", nil
	}
	if strings.ContainsAny(a, BadAliasChars) {
		return a, fmt.Errorf("%q contains a character IIS does not allow in paths (one of %s)", alias, BadAliasChars)
	}
	for _, seg := range strings.Split(a, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.TrimSpace(seg) != seg {
			return a, fmt.Errorf("%q has an empty, \".\" or \"..\" segment or spaces around one, so it is not a valid path", alias)
		}
	}
	return a, nil
}

// ProviderNameEqual compares two auto-start provider names as IIS does:
// ordinally, case-sensitively (schema: serviceAutoStartProviders/add/@name
// caseSensitive="true" isUniqueKey="true"). "Warmup" and "warmup" are two
// providers, and an application naming "Warmup" does not use "warmup".
func ProviderNameEqual(a, b string) bool { return a == b }

// CheckProviderName validates an auto-start provider name
// (schema: serviceAutoStartProviders/add/@name validationType="nonEmptyString").
func CheckProviderName(name string) error {
	if name == "" {
		return fmt.Errorf("a name is required")
	}
	if strings.TrimSpace(name) != name {
		return fmt.Errorf("%q has leading or trailing spaces; provider names are compared exactly, case and spaces included", name)
	}
	return nil
}

// hostnamePattern is a host header: DNS labels of letters, digits,
// underscores and inner dashes, optionally behind a "*." wildcard (IIS 10
// takes wildcard host headers).
var hostnamePattern = regexp.MustCompile(`^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*$`)

// MaxHostnameLength is the longest host name DNS allows.
const MaxHostnameLength = 253

// CheckHostname validates a binding's host header; "" (any host) passes.
func CheckHostname(h string) error {
	if h == "" {
		return nil
	}
	if len(strings.TrimPrefix(h, "*.")) > MaxHostnameLength || !hostnamePattern.MatchString(h) {
		return fmt.Errorf("%q is not a host name; use letters, digits, dots and dashes, optionally behind \"*.\"", h)
	}
	return nil
}
