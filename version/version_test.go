package version

import (
	"regexp"
	"testing"
)

// semver is a semantic version (2.0.0) with optional pre-release and build
// metadata, the form hack/dist.sh and release tags give Version.
var semver = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

func TestVersion_IsSemver(t *testing.T) {
	if !semver.MatchString(Version) {
		t.Fatalf("Version %q is not a semantic version", Version)
	}
}

func TestString(t *testing.T) {
	if got, want := String("nomad_iis"), "nomad_iis "+Version; got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
}
