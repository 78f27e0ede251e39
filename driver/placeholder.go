package driver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// A new task's application directories are not left empty: as nomad-iis
// does, the driver fills them with the placeholder's files (the IIS start
// page by default) until the job puts its own content there.

// prepareDirectories creates the task's tmp directory (its workers' TEMP)
// and fills missing or empty application directories below the task
// directory with the placeholder's files, as nomad-iis does.
func prepareDirectories(taskDir string, plan *taskPlan, placeholder string) error {
	if err := os.MkdirAll(filepath.Join(taskDir, "tmp"), 0o755); err != nil {
		return fmt.Errorf("cannot create the task's tmp directory: %w", err)
	}
	hasPlaceholder := false
	if placeholder != "" {
		if fi, err := os.Stat(placeholder); err == nil && fi.IsDir() {
			hasPlaceholder = true
		}
	}
	for _, dir := range plan.contentDirs {
		if dir == placeholder || !isEmptyDir(dir) {
			continue
		}
		if hasPlaceholder {
			if err := copyTree(placeholder, dir); err != nil {
				return fmt.Errorf("cannot copy the placeholder %s into %s: %w", placeholder, dir, err)
			}
		} else if within(taskDir, dir) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("cannot create %s: %w", dir, err)
			}
		}
	}
	return nil
}

// isEmptyDir reports whether dir is missing or has no entries.
func isEmptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	return err == nil && len(entries) == 0
}

// within reports whether path is inside dir.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsLocal(rel)
}

// copyTree copies the regular files and directories of src into dst.
// Links are skipped.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case e.IsDir():
			return os.MkdirAll(target, 0o755)
		case e.Type().IsRegular():
			return copyFile(path, target)
		}
		return nil
	})
}

// copyFile copies the regular file src to dst, replacing dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
