package driver

import (
	"sort"
	"sync"
)

// taskStore holds the handles of the tasks the driver runs, by task id.
type taskStore struct {
	// lock guards store.
	lock  sync.RWMutex
	store map[string]*taskHandle
}

func newTaskStore() *taskStore {
	return &taskStore{store: map[string]*taskHandle{}}
}

// Set adds or replaces the handle of id.
func (ts *taskStore) Set(id string, h *taskHandle) {
	ts.lock.Lock()
	defer ts.lock.Unlock()
	ts.store[id] = h
}

// SetIfAbsent adds the handle of id unless id has one; it reports whether
// h was added.
func (ts *taskStore) SetIfAbsent(id string, h *taskHandle) bool {
	ts.lock.Lock()
	defer ts.lock.Unlock()
	if _, ok := ts.store[id]; ok {
		return false
	}
	ts.store[id] = h
	return true
}

// Get returns the handle of id.
func (ts *taskStore) Get(id string) (*taskHandle, bool) {
	ts.lock.RLock()
	defer ts.lock.RUnlock()
	h, ok := ts.store[id]
	return h, ok
}

// Delete forgets id.
func (ts *taskStore) Delete(id string) {
	ts.lock.Lock()
	defer ts.lock.Unlock()
	delete(ts.store, id)
}

// All returns every handle, ordered by task id.
func (ts *taskStore) All() []*taskHandle {
	ts.lock.RLock()
	defer ts.lock.RUnlock()
	out := make([]*taskHandle, 0, len(ts.store))
	for _, h := range ts.store {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ref.taskID < out[j].ref.taskID })
	return out
}
