package main

import (
	"testing"

	"github.com/shoenig/test/must"
)

func TestCountFiles(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0 files", 1: "1 file", 2: "2 files", 214: "214 files"} {
		must.EqOp(t, want, countFiles(n))
	}
}

func TestHumanBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0 B", 29: "29 B", 2048: "2.0 KiB", 5347738: "5.1 MiB", 3 << 30: "3.0 GiB"} {
		must.EqOp(t, want, humanBytes(n))
	}
}
