package session

import (
	"container/list"
	"sync"
	"time"
)

// guessGuard counts the never-issued and malformed tokens each client
// presents, in bounded memory. A client that presents many is guessing
// tokens or replaying a fixation ID (WSTG-SESS-03); past the threshold it
// raises an EventTokenGuessing and, when a cool-down is configured, is
// answered 429 until it ends.
//
// It remembers at most max clients, forgetting the least recently seen
// first, so a flood of clients from many addresses costs a fixed amount of
// memory (and at worst lets a client that cycles through more than max
// addresses restart its count). A client in a cool-down is never the one
// forgotten: flooding the table cannot end a refusal early.
type guessGuard struct {
	mu       sync.Mutex
	max      int
	limit    int
	window   time.Duration
	cooldown time.Duration
	order    *list.List // of *guessCount, most recent at the front
	byKey    map[string]*list.Element
}

type guessCount struct {
	key     string
	start   time.Time // of the current window
	count   int
	blocked time.Time // end of the cool-down
}

func newGuessGuard(max, limit int, window, cooldown time.Duration) *guessGuard {
	return &guessGuard{max: max, limit: limit, window: window, cooldown: cooldown,
		order: list.New(), byKey: make(map[string]*list.Element)}
}

// blockedUntil returns when key's cool-down ends, or the zero time.
func (g *guessGuard) blockedUntil(key string, now time.Time) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e, ok := g.byKey[key]; ok {
		if c := e.Value.(*guessCount); now.Before(c.blocked) {
			return c.blocked
		}
	}
	return time.Time{}
}

// miss records n bad tokens from key and reports whether key just crossed
// the threshold.
func (g *guessGuard) miss(key string, n int, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.byKey[key]
	if !ok {
		if g.order.Len() >= g.max && !g.evict(now) {
			// Every client counted is in a cool-down: a flood of new
			// clients must not release them, so the newcomer goes uncounted.
			return false
		}
		e = g.order.PushFront(&guessCount{key: key, start: now})
		g.byKey[key] = e
	} else {
		g.order.MoveToFront(e)
	}
	c := e.Value.(*guessCount)
	if now.Sub(c.start) > g.window {
		c.start, c.count = now, 0
	}
	before := c.count
	c.count += n
	if before < g.limit && c.count >= g.limit {
		if g.cooldown > 0 {
			c.blocked = now.Add(g.cooldown)
		}
		return true
	}
	return false
}

// evict forgets the least recently seen client that is not in a cool-down,
// and reports whether there was one. g.mu must be held.
func (g *guessGuard) evict(now time.Time) bool {
	for e := g.order.Back(); e != nil; e = e.Prev() {
		if c := e.Value.(*guessCount); !now.Before(c.blocked) {
			g.order.Remove(e)
			delete(g.byKey, c.key)
			return true
		}
	}
	return false
}
