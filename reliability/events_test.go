//go:build !windows

package reliability

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
)

// taskEvents records the task events of a driver node.
type taskEvents struct {
	mu     sync.Mutex
	events []*drivers.TaskEvent
}

// events records every task event of the node until the test ends.
func (n *driverNode) events(t *testing.T) *taskEvents {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := n.h.TaskEvents(ctx)
	if err != nil {
		t.Fatalf("task events: %v", err)
	}
	l := &taskEvents{}
	go func() {
		for ev := range ch {
			l.mu.Lock()
			l.events = append(l.events, ev)
			l.mu.Unlock()
		}
	}()
	return l
}

// find returns the first event of the task whose message contains s.
func (l *taskEvents) find(taskID, s string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.events {
		if ev.TaskID == taskID && strings.Contains(ev.Message, s) {
			return ev.Message, true
		}
	}
	return "", false
}

// wait waits up to 30 s for an event of the task containing s and returns
// its message.
func (l *taskEvents) wait(t *testing.T, taskID, s string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m, ok := l.find(taskID, s); ok {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no task event containing %q within 30 s", s)
	return ""
}
