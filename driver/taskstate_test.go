package driver

import (
	"testing"

	"github.com/shoenig/test/must"
)

func TestTaskState_Upgrade(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		version   int
		providers []string
		untracked []string
		kept      []string
	}{
		{"version 1 tracks no provider", 1, []string{"Warmup", "Other"}, []string{"Warmup", "Other"}, nil},
		{"version 1 without providers", 1, nil, nil, nil},
		{"version 2 keeps its providers", 2, []string{"Warmup"}, nil, []string{"Warmup"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := &TaskState{AutoStartProviders: c.providers}
			must.Eq(t, c.untracked, s.upgrade(c.version))
			must.Eq(t, c.kept, s.AutoStartProviders)
		})
	}
}
