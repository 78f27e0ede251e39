package fsroot

import (
	"errors"
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzClean feeds arbitrary request paths to the resolver's lexical rules.
// Whatever it accepts must stay inside the task directory under both POSIX
// and Windows rules, never name secrets/ or private/, and be stable.
func FuzzClean(f *testing.F) {
	for _, s := range []string{
		"local", "local/", "local/index.html", "local/a b/c+d%20.txt", "tmp/app.log",
		"local/.well-known/x", "local/ünïcode.txt", "..", "local/../secrets", `local\..\secrets`,
		"C:/Windows", "local/file.txt::$DATA", "local/NUL", "local/com1.log", "local/aux .txt",
		"local/PROGRA~1", "secrets/vault_token", "Private", ".nomad-iis-x.zip", "//server/share",
		"local/trailing.", "local/a\x00b", "local/CONIN$", "local/COM¹", "\\\\?\\C:\\x",
		"local/%2e%2e/secrets", "local/..%2fsecrets", "local/\u202e.txt",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Clean(in)
		if err != nil {
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Fatalf("Clean(%q): error %T is not a *PathError", in, err)
			}
			if errors.Is(err, ErrForbidden) == errors.Is(err, ErrInvalid) {
				t.Fatalf("Clean(%q): error must be exactly one of invalid or forbidden: %v", in, err)
			}
			return
		}
		checkAccepted(t, in, got)
		// Clean is idempotent: an accepted path is accepted unchanged.
		again, err := Clean(got)
		if err != nil || again != got {
			t.Fatalf("Clean(%q) = %q, but Clean(%q) = %q, %v", in, got, got, again, err)
		}
	})
}

// checkAccepted asserts the properties of a path Clean accepted, with rules
// written independently of the resolver's.
func checkAccepted(t *testing.T, in, got string) {
	t.Helper()
	if got == "" || !utf8.ValidString(got) {
		t.Fatalf("Clean(%q) accepted an empty or invalid path %q", in, got)
	}
	if strings.HasPrefix(got, "/") || strings.ContainsAny(got, "\\:\x00") {
		t.Fatalf("Clean(%q) = %q: absolute, backslash, colon or NUL", in, got)
	}
	// POSIX: the joined path stays under the root.
	if j := path.Join("/root", got); !strings.HasPrefix(j, "/root/") {
		t.Fatalf("Clean(%q) = %q escapes the root (%s)", in, got, j)
	}
	segs := strings.Split(got, "/")
	top := strings.ToLower(segs[0])
	if top == "secrets" || top == "private" || strings.HasPrefix(top, StagingPrefix) {
		t.Fatalf("Clean(%q) = %q names a forbidden top-level folder", in, got)
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			t.Fatalf("Clean(%q) = %q has an empty, . or .. segment", in, got)
		}
		// Windows: names that end in a dot or space are trimmed, so they
		// would alias another name; device names open devices.
		if strings.HasSuffix(s, ".") || strings.HasSuffix(s, " ") {
			t.Fatalf("Clean(%q) = %q has a segment Windows would trim: %q", in, got, s)
		}
		if windowsDevice(s) {
			t.Fatalf("Clean(%q) = %q names a Windows device: %q", in, got, s)
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f || strings.ContainsRune(`<>"|?*`, r) {
				t.Fatalf("Clean(%q) = %q has a character Windows refuses: %q", in, got, r)
			}
		}
		if strings.HasPrefix(strings.ToLower(s), StagingPrefix) {
			t.Fatalf("Clean(%q) = %q has a reserved staging name", in, got)
		}
	}
}

// windowsDevice is the Win32 rule for reserved device names: the base name
// (before the first dot, trailing spaces removed) compared case-insensitively.
func windowsDevice(s string) bool {
	base, _, _ := strings.Cut(s, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$":
		return true
	}
	for _, p := range []string{"COM", "LPT"} {
		if rest, ok := strings.CutPrefix(base, p); ok && utf8.RuneCountInString(rest) == 1 {
			if strings.ContainsAny(rest, "0123456789¹²³") {
				return true
			}
		}
	}
	return false
}

// TestWindowsRules_OnEveryOS pins the Windows-specific string rules so that
// they are checked on Linux too (the resolver applies them on every OS).
func TestWindowsRules_OnEveryOS(t *testing.T) {
	refused := []string{
		"local/CON", "local/con.txt", "local/Nul.tar.gz", "local/COM9", "local/lpt¹",
		"local/CLOCK$", "local/CONOUT$.x", "local/a.", "local/a ", "local/a:b",
		"local/a::$DATA", "C:x", `local\x`, "local/A~1.TXT", "local/a<b", "local/a>b",
		"local/a\"b", "local/a|b", "local/a?b", "local/a*b",
	}
	for _, p := range refused {
		if _, err := Clean(p); err == nil {
			t.Errorf("Clean(%q) accepted a path Windows would alias or refuse", p)
		}
	}
	for _, p := range []string{"local/CONSOLE", "local/com10", "local/lpt", "local/nul-file", "local/a~b.txt"} {
		if _, err := Clean(p); err != nil {
			t.Errorf("Clean(%q): %v", p, err)
		}
	}
}
