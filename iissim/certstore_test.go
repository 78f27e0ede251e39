//go:build !windows

package iissim

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// The store has no listing of its own in the product; the tests use this
// one to see which certificates it holds.

// list returns the thumbprints in the store, sorted.
func (s certStore) list() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && isThumbprint(name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// isThumbprint reports whether s is 40 upper-case hex digits.
func isThumbprint(s string) bool {
	return len(s) == 40 && normalizeThumbprint(s) == s
}
