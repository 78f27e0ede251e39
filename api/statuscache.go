package api

import (
	"context"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// statusCache keeps a list per task for a short TTL, so that status requests
// do not cost a backend round trip each: the pool states, and the
// deployments (a backend call and a read of the version records). Concurrent
// misses for one task share one fetch. Whatever changes the list (start,
// stop, recycle, uploads, deploy, rollback) invalidates the task's entry.
type statusCache[E any] struct {
	ttl time.Duration
	now func() time.Time

	// mu guards slots.
	mu    sync.Mutex
	slots map[string]*statusSlot[E]
}

type statusSlot[E any] struct {
	items   []E
	expires time.Time
	// gen increases with each invalidation; a fetch started before it does
	// not fill the slot.
	gen    uint64
	flight *statusFlight[E]
}

type statusFlight[E any] struct {
	done  chan struct{}
	items []E
	err   error
}

func newStatusCache[E any](ttl time.Duration) *statusCache[E] {
	return &statusCache[E]{ttl: ttl, now: time.Now, slots: map[string]*statusSlot[E]{}}
}

// get returns the list of key, from the cache or from fetch.
func (c *statusCache[E]) get(ctx context.Context, key string, fetch func(context.Context) ([]E, error)) ([]E, error) {
	c.mu.Lock()
	slot := c.slots[key]
	if slot == nil {
		slot = &statusSlot[E]{}
		c.slots[key] = slot
		c.sweepLocked()
	}
	if slot.items != nil && c.now().Before(slot.expires) {
		items := slot.items
		c.mu.Unlock()
		return items, nil
	}
	if f := slot.flight; f != nil {
		c.mu.Unlock()
		select {
		case <-f.done:
			return f.items, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &statusFlight[E]{done: make(chan struct{})}
	slot.flight = f
	gen := slot.gen
	c.mu.Unlock()

	// The fetch serves every waiter, so the first caller's cancellation
	// must not cut it short.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	f.items, f.err = fetch(fctx)
	cancel()

	c.mu.Lock()
	if slot.flight == f {
		slot.flight = nil
	}
	if f.err == nil && slot.gen == gen {
		slot.items, slot.expires = f.items, c.now().Add(c.ttl)
	}
	c.mu.Unlock()
	close(f.done)
	return f.items, f.err
}

// invalidate drops key's entry; requests already waiting on a fetch get its
// result, later ones fetch again.
func (c *statusCache[E]) invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if slot := c.slots[key]; slot != nil {
		slot.gen++
		slot.items = nil
		slot.flight = nil
	}
}

// sweepLocked drops idle expired slots once the map grows; c.mu is held.
func (c *statusCache[E]) sweepLocked() {
	if len(c.slots) < 256 {
		return
	}
	now := c.now()
	for k, s := range c.slots {
		if s.flight == nil && now.After(s.expires) {
			delete(c.slots, k)
		}
	}
}

// procSample is what the status route reports about a worker process.
type procSample struct {
	MemoryBytes        uint64
	VirtualMemoryBytes uint64
	CPUSeconds         float64
	CPUPercent         float64
}

// procStats samples worker processes with gopsutil, at most once per TTL
// per process. CPU percent is measured between two samples (100 = one core).
type procStats struct {
	ttl time.Duration

	// mu guards last.
	mu   sync.Mutex
	last map[int]*procEntry
}

type procEntry struct {
	at     time.Time
	sample procSample
	ok     bool
}

func newProcStats(ttl time.Duration) *procStats {
	return &procStats{ttl: ttl, last: map[int]*procEntry{}}
}

// sample returns pid's figures, or false when the process cannot be read.
func (p *procStats) sample(ctx context.Context, pid int) (procSample, bool) {
	now := time.Now()
	p.mu.Lock()
	prev := p.last[pid]
	if prev != nil && now.Sub(prev.at) < p.ttl {
		s, ok := prev.sample, prev.ok
		p.mu.Unlock()
		return s, ok
	}
	p.mu.Unlock()

	cur := &procEntry{at: now}
	if proc, err := process.NewProcessWithContext(ctx, int32(pid)); err == nil {
		mem, merr := proc.MemoryInfoWithContext(ctx)
		times, terr := proc.TimesWithContext(ctx)
		if merr == nil && terr == nil {
			cur.ok = true
			cur.sample = procSample{MemoryBytes: mem.RSS, VirtualMemoryBytes: mem.VMS, CPUSeconds: times.User + times.System}
			switch {
			case prev != nil && prev.ok && cur.sample.CPUSeconds >= prev.sample.CPUSeconds:
				cur.sample.CPUPercent = 100 * (cur.sample.CPUSeconds - prev.sample.CPUSeconds) / now.Sub(prev.at).Seconds()
			default:
				if created, err := proc.CreateTimeWithContext(ctx); err == nil {
					if up := now.Sub(time.UnixMilli(created)).Seconds(); up > 0 {
						cur.sample.CPUPercent = 100 * cur.sample.CPUSeconds / up
					}
				}
			}
		}
	}
	p.mu.Lock()
	p.last[pid] = cur
	if len(p.last) > 1024 {
		for k, e := range p.last {
			if now.Sub(e.at) > time.Minute {
				delete(p.last, k)
			}
		}
	}
	p.mu.Unlock()
	return cur.sample, cur.ok
}
