package app

import (
	"container/list"
	"sync"
	"time"
)

// throttle slows down repeated failed sign-ins, per account and per client,
// in bounded memory: it remembers at most max keys, forgetting the least
// recently failed first. After free failures, each further failure doubles
// the wait before the next attempt is allowed, up to maxWait (ASVS 2.2.1).
// A success clears the key. It is safe for concurrent use.
type throttle struct {
	mu      sync.Mutex
	max     int
	free    int
	base    time.Duration
	maxWait time.Duration
	now     func() time.Time
	order   *list.List // of *failures, most recent at the front
	byKey   map[string]*list.Element
}

type failures struct {
	key   string
	count int
	until time.Time
}

func newThrottle(max int, now func() time.Time) *throttle {
	return &throttle{max: max, free: 5, base: time.Second, maxWait: 15 * time.Minute, now: now,
		order: list.New(), byKey: map[string]*list.Element{}}
}

// wait returns how long key must wait before another attempt, or 0.
func (t *throttle) wait(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byKey[key]
	if !ok {
		return 0
	}
	if d := e.Value.(*failures).until.Sub(t.now()); d > 0 {
		return d
	}
	return 0
}

// fail records a failed attempt for key.
func (t *throttle) fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byKey[key]
	if !ok {
		if t.order.Len() >= t.max {
			oldest := t.order.Back()
			t.order.Remove(oldest)
			delete(t.byKey, oldest.Value.(*failures).key)
		}
		e = t.order.PushFront(&failures{key: key})
		t.byKey[key] = e
	} else {
		t.order.MoveToFront(e)
	}
	f := e.Value.(*failures)
	f.count++
	if over := f.count - t.free; over > 0 {
		d := t.base << min(over-1, 20)
		f.until = t.now().Add(min(d, t.maxWait))
	}
}

// succeed forgets key.
func (t *throttle) succeed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.byKey[key]; ok {
		t.order.Remove(e)
		delete(t.byKey, key)
	}
}

func (t *throttle) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.order.Len()
}
