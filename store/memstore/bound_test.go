package memstore

import (
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// TestSignInAtTheBoundStaysFlat holds the work of a sign-in at the bound
// as one user signs in again and again at MaxSessionsPerUser 100, each
// sign-in past the 100th ending one session, the store's clock moving on
// by more than SignInMargin between sign-ins (as a user signing in again
// does): the user's lineages, their order by last use and their records
// stay at the bound, and a sign-in (its record built included) allocates
// no more around the 3,000th than around the 200th (within 20 %, for the
// amortized growth of the tombstones' map). Allocations, not time, so that a busy machine cannot
// fail it.
func TestSignInAtTheBoundStaysFlat(t *testing.T) {
	const limit, signIns = 100, 3000
	clk := &stepClock{now: time.Now()}
	s := newTestStore(t, Options{Now: clk.Now})
	const user = "kiosk"
	done := 0
	signIn := func() {
		clk.Add(store.SignInMargin + 50*time.Millisecond)
		done++
		out, err := s.SignIn(t.Context(), &store.SignIn{Record: record(t, user, time.Hour), Limit: limit, LimitReason: store.Reason(7)})
		if err != nil {
			t.Fatalf("sign-in %d: %v", done, err)
		}
		if ended := max(0, min(1, done-limit)); out.Sessions != min(done, limit) || len(out.Ended) != ended {
			t.Fatalf("sign-in %d: %d sessions, ended %d; want %d and %d", done, out.Sessions, len(out.Ended), min(done, limit), ended)
		}
	}
	// AllocsPerRun signs in 11 times: once to warm up, 10 measured.
	for done < 190 {
		signIn()
	}
	early := testing.AllocsPerRun(10, signIn)
	for done < signIns-11 {
		signIn()
	}
	late := testing.AllocsPerRun(10, signIn)
	t.Logf("allocations per sign-in: %.1f over the 191st to 201st sign-ins, %.1f over the 2,990th to 3,000th", early, late)
	if late > early*1.2 {
		t.Errorf("a sign-in at the bound allocates %.1f times around the 3,000th sign-in, %.1f around the 200th", late, early)
	}
	s.mu.RLock()
	lineages, byUse := len(s.byUser[user]), s.lru[user].Len()
	s.mu.RUnlock()
	recs, err := s.ListUser(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	if lineages != limit || byUse != limit || len(recs) != limit {
		t.Errorf("after %d sign-ins: %d lineages, %d by last use, %d records; want %d each", signIns, lineages, byUse, len(recs), limit)
	}
	checkIndex(t, s)
}

// stepClock is a clock that moves only when told.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
