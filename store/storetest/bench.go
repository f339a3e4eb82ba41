package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// BenchmarkSignIn measures [store.Store.SignIn] within the bound on a
// user's sessions and at it, for a store whose clock newStore sets to now
// (the stores' Options.Now): "within" signs in a new user each time,
// "at-bound" signs one user in again and again with Limit 100, so that
// each sign-in ends the least recently used of the user's 100 sessions.
// The clock moves on by more than [store.SignInMargin] between sign-ins,
// so that every earlier session is older than the next sign-in. The
// sign-in at the bound should cost a small multiple of the one within it,
// however many sessions the user had before.
func BenchmarkSignIn(b *testing.B, newStore func(b *testing.B, now func() time.Time) store.Store) {
	const limit = 100
	for _, c := range []struct {
		name string
		user func(i int) string
	}{
		{"within", func(i int) string { return fmt.Sprintf("user%d", i) }},
		{"at-bound", func(int) string { return "alice" }},
	} {
		b.Run(c.name, func(b *testing.B) {
			clk := &benchClock{now: time.Now()}
			st := newStore(b, clk.Now)
			signIn := func(i int) {
				rec := newRecord(b, c.user(i))
				rec.Expires = clk.Now().Add(24 * time.Hour)
				rec.Deadline = rec.Expires
				if _, err := st.SignIn(b.Context(), &store.SignIn{Record: rec, Limit: limit, LimitReason: store.ReasonExpired + 1}); err != nil {
					b.Fatal(err)
				}
				clk.advance(store.SignInMargin + time.Second)
			}
			for i := range limit {
				signIn(-1 - i)
			}
			i := 0
			for b.Loop() {
				signIn(i)
				i++
			}
		})
	}
}

// benchClock is a store clock the benchmark moves on.
type benchClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *benchClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *benchClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
