package fsroot

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

func TestClean_Accepts(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"local", "local"},
		{"local/", "local"},
		{"local/index.html", "local/index.html"},
		{"local/a b/c+d%20.txt", "local/a b/c+d%20.txt"},
		{"local/.well-known/x", "local/.well-known/x"},
		{"local/ünïcode.txt", "local/ünïcode.txt"},
		{"tmp/app.log", "tmp/app.log"},
		{"local/secrets", "local/secrets"},
		{"local/file~name.txt", "local/file~name.txt"},
		{"local/CONSOLE.txt", "local/CONSOLE.txt"},
		{"local/com10", "local/com10"},
	}
	for _, tc := range cases {
		got, err := Clean(tc.in)
		must.NoError(t, err, must.Sprintf("path %q", tc.in))
		must.Eq(t, tc.want, got)
	}
}

// TestClean_HostilePaths is the table of paths every file route refuses,
// checked with Windows and POSIX rules on every OS.
func TestClean_HostilePaths(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in        string
		forbidden bool
	}{
		{"", false},
		{"/", false},
		{".", false},
		{"..", false},
		{"./", false},
		{"local/..", false},
		{"local/../secrets", false},
		{"../app/local", false},
		{"local/./index.html", false},
		{"/etc/passwd", false},
		{"//server/share", false},
		{`\\server\share`, false},
		{`local\..\secrets`, false},
		{`local\index.html`, false},
		{"C:", false},
		{"C:/Windows", false},
		{"c:x", false},
		{"local/C:x", false},
		{"local/file.txt:secret", false},
		{"local/file.txt::$DATA", false},
		{"local//index.html", false},
		{"local/index.html\x00.png", false},
		{"local/a\nb", false},
		{"local/NUL", false},
		{"local/nul.txt", false},
		{"local/Con", false},
		{"local/COM1", false},
		{"local/lpt9.log", false},
		{"local/aux .txt", false},
		{"local/CONIN$", false},
		{"local/COM¹", false},
		{"local/trailing.", false},
		{"local/trailing ", false},
		{"local/a<b", false},
		{"local/a|b", false},
		{"local/a?b", false},
		{"local/*", false},
		{"local/PROGRA~1", false},
		{"local/SECRET~1.TXT", false},
		{strings.Repeat("a/", 65) + "a", false},
		{"local/" + strings.Repeat("x", 256), false},
		{"local/\xff\xfe", false},
		{"secrets", true},
		{"secrets/vault_token", true},
		{"SECRETS/vault_token", true},
		{"Private", true},
		{"private/x", true},
		{".nomad-iis-abc.zip", true},
		{"local/.nomad-iis-x-new", true},
		{"local/.NOMAD-IIS", true},
	}
	for _, tc := range cases {
		t.Run(strings.ToValidUTF8(tc.in, "?"), func(t *testing.T) {
			_, err := Clean(tc.in)
			must.Error(t, err)
			var pe *PathError
			must.True(t, errors.As(err, &pe))
			must.Eq(t, tc.forbidden, errors.Is(err, ErrForbidden), must.Sprintf("error: %v", err))
			must.Eq(t, !tc.forbidden, errors.Is(err, ErrInvalid))
		})
	}
}

// newTaskDir builds a task directory with local/, secrets/ and links.
func newTaskDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	task := filepath.Join(dir, "task")
	for _, d := range []string{"local/sub", "secrets", "tmp"} {
		must.NoError(t, os.MkdirAll(filepath.Join(task, d), 0o755))
	}
	must.NoError(t, os.WriteFile(filepath.Join(task, "local", "index.html"), []byte("v1"), 0o644))
	must.NoError(t, os.WriteFile(filepath.Join(task, "local", "sub", "a.txt"), []byte("a"), 0o644))
	must.NoError(t, os.WriteFile(filepath.Join(task, "secrets", "token"), []byte("SECRET"), 0o600))
	must.NoError(t, os.WriteFile(filepath.Join(dir, "outside.txt"), []byte("OUTSIDE"), 0o644))
	// Links an app could plant in its own folder.
	must.NoError(t, os.Symlink("../secrets", filepath.Join(task, "local", "to-secrets")))
	must.NoError(t, os.Symlink("../secrets/token", filepath.Join(task, "local", "token-link")))
	must.NoError(t, os.Symlink(filepath.Join(dir, "outside.txt"), filepath.Join(task, "local", "abs-link")))
	must.NoError(t, os.Symlink("../../outside.txt", filepath.Join(task, "local", "rel-out")))
	must.NoError(t, os.Symlink("sub", filepath.Join(task, "local", "sub-link")))
	// A top-level link (the task directory's layout itself redirected).
	must.NoError(t, os.Symlink("secrets", filepath.Join(task, "alias")))
	return task
}

func TestLocate_LinksAreNotFollowedOut(t *testing.T) {
	t.Parallel()
	task := newTaskDir(t)
	tree, err := Open(task)
	must.NoError(t, err)
	defer tree.Close()

	read := func(rel string) (string, error) {
		loc, err := tree.Locate(rel, false)
		if err != nil {
			return "", err
		}
		defer loc.Close()
		f, err := loc.Open()
		if err != nil {
			return "", err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		return string(b), err
	}
	for _, rel := range []string{"local/to-secrets/token", "local/token-link", "local/abs-link", "local/rel-out", "alias/token"} {
		got, err := read(rel)
		must.Error(t, err, must.Sprintf("%s read %q", rel, got))
		must.True(t, errors.Is(err, ErrForbidden), must.Sprintf("%s: %v", rel, err))
		must.StrNotContains(t, err.Error(), task, must.Sprint("errors never carry host paths"))
	}
	got, err := read("local/sub/a.txt")
	must.NoError(t, err)
	must.Eq(t, "a", got)
	// A link inside the folder is followed as long as it stays there.
	got, err = read("local/sub-link/a.txt")
	must.NoError(t, err)
	must.Eq(t, "a", got)

	// Writes through a link out of the top-level folder are refused too.
	loc, err := tree.Locate("local/to-secrets/new", true)
	if err == nil {
		_, err = loc.SpoolFile(strings.NewReader("x"))
		loc.Close()
	}
	must.Error(t, err)
	_, statErr := os.Stat(filepath.Join(task, "secrets", "new"))
	must.True(t, os.IsNotExist(statErr))
}

func TestLocate_RemoveDeletesLinksNotTargets(t *testing.T) {
	t.Parallel()
	task := newTaskDir(t)
	tree, err := Open(task)
	must.NoError(t, err)
	defer tree.Close()
	for _, rel := range []string{"local/to-secrets", "local/token-link"} {
		loc, err := tree.Locate(rel, false)
		must.NoError(t, err)
		must.NoError(t, loc.Remove())
		loc.Close()
	}
	b, err := os.ReadFile(filepath.Join(task, "secrets", "token"))
	must.NoError(t, err)
	must.Eq(t, "SECRET", string(b))
}

func TestLocate_CreatesAndRemovesParents(t *testing.T) {
	t.Parallel()
	task := newTaskDir(t)
	tree, err := Open(task)
	must.NoError(t, err)
	defer tree.Close()
	loc, err := tree.Locate("newtop/a/b/file.txt", true)
	must.NoError(t, err)
	_, err = os.Stat(filepath.Join(task, "newtop", "a", "b"))
	must.NoError(t, err)
	loc.RemoveCreated()
	loc.Close()
	_, err = os.Stat(filepath.Join(task, "newtop"))
	must.True(t, os.IsNotExist(err))
}
