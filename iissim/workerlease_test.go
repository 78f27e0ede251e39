//go:build !windows

package iissim

import (
	"testing"

	"github.com/shoenig/test/must"
)

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestLeases_IdleOnceEveryRequestIsAnswered(t *testing.T) {
	t.Parallel()
	var l leases
	must.True(t, closed(l.whenIdle()), must.Sprint("a worker without requests is idle"))

	a, b := l.take(), l.take()
	idle := l.whenIdle()
	must.False(t, closed(idle))
	a()
	a() // a second release of one request counts once
	must.False(t, closed(idle), must.Sprint("one request is still held"))
	b()
	must.True(t, closed(idle))
	must.True(t, closed(l.whenIdle()))

	c := l.take()
	again := l.whenIdle()
	must.False(t, closed(again), must.Sprint("a new request makes the worker busy again"))
	c()
	must.True(t, closed(again))
}
