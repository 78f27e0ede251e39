package driver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
)

// A task's files stay in its allocation. The host paths a job names —
// application and virtual directory paths, pfx_file, cert_file and
// key_file — must be inside the allocation directory, after ".." and
// symbolic links are resolved, or inside a directory the node lists in
// allowed_host_paths. The literal path is checked first; then the links
// of the part of it that exists are resolved and the result is checked
// again, so that a link the job put into its task directory cannot point
// elsewhere.

// pathSyntax is how a node spells paths: Windows (both separators, drive
// letters and UNC shares, case-insensitive) or POSIX. The checks below
// are plain string operations so that both are tested on any OS.
type pathSyntax struct{ windows bool }

// hostSyntax is the syntax of the node the plugin runs on.
var hostSyntax = pathSyntax{windows: runtime.GOOS == "windows"}

// normalize cleans p into slash form. It reports whether p is absolute,
// or why it cannot be used (Windows paths relative to a drive's current
// directory and device paths).
func (ps pathSyntax) normalize(p string) (norm string, abs bool, problem string) {
	if !ps.windows {
		return path.Clean(p), strings.HasPrefix(p, "/"), ""
	}
	s := strings.ReplaceAll(p, `\`, "/")
	switch {
	case len(s) >= 2 && s[1] == ':' && isLetter(s[0]):
		if len(s) == 2 || s[2] != '/' {
			return "", false, fmt.Sprintf("is relative to the current directory of drive %s; give a full path such as %s\\...", s[:2], strings.ToUpper(s[:2]))
		}
		return strings.ToUpper(s[:2]) + path.Clean(s[2:]), true, ""
	case strings.HasPrefix(s, "//?/") || strings.HasPrefix(s, "//./"):
		return "", false, "is a device path; give a drive letter or UNC path"
	case strings.HasPrefix(s, "//"):
		return "/" + path.Clean(s[1:]), true, ""
	case strings.HasPrefix(s, "/"):
		return "", false, "is relative to the current drive; give a drive letter"
	}
	return path.Clean(s), false, ""
}

// within reports whether the normalised path p is dir or below it.
func (ps pathSyntax) within(dir, p string) bool {
	if ps.windows {
		dir, p = strings.ToLower(dir), strings.ToLower(p)
	}
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// confine checks that path, relative to taskDir unless absolute, is inside
// allocDir or one of allowed (absolute directories). It returns a problem
// to report, or "".
func (ps pathSyntax) confine(p, taskDir, allocDir string, allowed []string) string {
	norm, abs, problem := ps.normalize(p)
	if problem != "" {
		return problem
	}
	if !abs {
		base, _, _ := ps.normalize(taskDir)
		norm = path.Clean(base + "/" + norm)
	}
	if root, _, _ := ps.normalize(allocDir); ps.within(root, norm) {
		return ""
	}
	for _, a := range allowed {
		if dir, ok, bad := ps.normalize(strings.TrimSpace(a)); ok && bad == "" && ps.within(dir, norm) {
			return ""
		}
	}
	return "is outside the allocation directory; allowed_host_paths permits " + quoteListOrNone(allowed)
}

func isLetter(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// hostPaths confines the paths of one task on this node.
type hostPaths struct {
	taskDir, allocDir string
	allowed           []string
}

// check validates the literal path, then the path its existing part's
// symbolic links lead to. abs is the path resolved against the task
// directory, as the backend gets it. It returns a problem, or "".
func (h hostPaths) check(p, abs string) string {
	if problem := hostSyntax.confine(p, h.taskDir, h.allocDir, h.allowed); problem != "" {
		return problem
	}
	real, err := evalExisting(abs)
	if err != nil {
		return err.Error()
	}
	for _, root := range h.roots() {
		if hostSyntax.confine(real, root, root, nil) != "" {
			continue
		}
		if rp := reparsePointBelow(root, real); rp != "" {
			return fmt.Sprintf("leads through %q, a junction or other reparse point, which the driver does not follow; use a directory", rp)
		}
		return ""
	}
	return fmt.Sprintf("leads through a symbolic link to %q, which is outside the allocation directory; allowed_host_paths permits %s", real, quoteListOrNone(h.allowed))
}

// roots are the allocation directory and the allowed ones, as given and
// with their own links resolved.
func (h hostPaths) roots() []string {
	var roots []string
	for _, dir := range append([]string{h.allocDir}, h.allowed...) {
		dir = strings.TrimSpace(dir)
		roots = append(roots, dir)
		if r, err := filepath.EvalSymlinks(dir); err == nil && r != dir {
			roots = append(roots, r)
		}
	}
	return roots
}

// reparsePointBelow returns the first existing element of p below root
// that is irregular: on Windows a junction (mount point), which
// filepath.EvalSymlinks does not resolve (Go 1.23 and later), or another
// reparse point. It returns "" when there is none.
func reparsePointBelow(root, p string) string {
	r, _, _ := hostSyntax.normalize(root)
	for cur := p; ; cur = filepath.Dir(cur) {
		n, _, _ := hostSyntax.normalize(cur)
		if !hostSyntax.within(r, n) || hostSyntax.within(n, r) {
			return ""
		}
		if fi, err := os.Lstat(cur); err == nil && fi.Mode()&fs.ModeIrregular != 0 {
			return cur
		}
		if filepath.Dir(cur) == cur {
			return ""
		}
	}
}

// evalExisting resolves the symbolic links of the longest existing prefix
// of the absolute path p and appends the rest. A link whose target does
// not exist is refused: what it points to could be made later.
func evalExisting(p string) (string, error) {
	rest := ""
	for cur := p; ; {
		real, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("cannot be resolved: %v", err)
		}
		if fi, lerr := os.Lstat(cur); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return "", fmt.Errorf("leads through the symbolic link %q, whose target does not exist", cur)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}
