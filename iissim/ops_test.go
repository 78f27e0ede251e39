//go:build !windows

package iissim

import (
	"slices"
	"testing"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

func TestOperations_MatchContract(t *testing.T) {
	var contract []ps.Op
	for _, info := range ps.Operations {
		contract = append(contract, info.Name)
	}
	must.Eq(t, contract, Operations())
}

func TestOperations_HandlerTablesServeThem(t *testing.T) {
	s := &service{}
	var handled []ps.Op
	for op := range s.handlers() {
		handled = append(handled, op)
	}
	handled = append(handled, hostOps...)
	slices.Sort(handled)
	want := Operations()
	slices.Sort(want)
	must.Eq(t, want, handled)
}
