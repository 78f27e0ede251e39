package api

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// taskLocks serialises the operations that change a task (uploads, deletes,
// pool start/stop/recycle). It never waits: a second operation on a busy
// task is refused with 409, as a deployment lock does.
type taskLocks struct {
	// mu guards busy.
	mu sync.Mutex
	// busy maps a task id to what holds it, for the 409 message.
	busy map[string]string
}

func newTaskLocks() *taskLocks { return &taskLocks{busy: map[string]string{}} }

// tryLock takes the lock of taskID for what. It returns the release
// function, or nil and what holds the lock.
func (l *taskLocks) tryLock(taskID, what string) (release func(), holder string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.busy[taskID]; ok {
		return nil, h
	}
	l.busy[taskID] = what
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.busy, taskID)
			l.mu.Unlock()
		})
	}, ""
}

// lockTask takes the lock of taskID for what, or refuses with 409 and a
// Retry-After when another operation holds it. The caller defers release.
func (l *taskLocks) lockTask(taskID, what string) (release func(), err error) {
	release, busy := l.tryLock(taskID, what)
	if release == nil {
		return nil, &APIError{HTTPStatus: http.StatusConflict, RetryAfter: 5 * time.Second,
			Message: fmt.Sprintf("another operation on this task is in progress (%s); retry when it has finished", busy)}
	}
	return release, nil
}
