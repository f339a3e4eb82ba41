package sessiontest

import (
	"sync"
	"time"
)

// A Clock is a time source that moves only when told to. Use its Now as
// session.Config.Now; a [Manager] does. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock that reads start until it is advanced.
//
// Start at the current time or later: store/memstore and the other stores
// check a record's expiry against the real time, so a Clock behind it
// would have records vanish before the sessions' own deadlines.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the Clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the Clock forward by d. A negative d is ignored: deadlines
// a session layer enforces assume time does not go back.
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
