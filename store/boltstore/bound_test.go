package boltstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// TestSignInAtTheBoundStaysFlat holds the work of a sign-in at the bound
// as one user signs in again and again at MaxSessionsPerUser 100, each
// sign-in past the 100th ending one session, the store's clock moving on
// by more than SignInMargin between sign-ins (as a user signing in again
// does). bbolt counts, per transaction, the B+tree nodes it loads to
// change them, the cursors it opens and the pages it writes: at most 20 %
// more of each (and at least 2, for a bucket that grows a level) around
// the 3,000th sign-in than around the 200th. The user's lineages stay at
// the bound. Counts, not time, so that a busy machine cannot fail it.
func TestSignInAtTheBoundStaysFlat(t *testing.T) {
	const limit, signIns = 100, 3000
	clk := newClock()
	s := openAt(t, tempPath(t), Options{SweepInterval: -1, Now: clk.Now})
	const user = "kiosk"
	early, late := make(map[string]int64), make(map[string]int64)
	for i := 1; i <= signIns; i++ {
		clk.Advance(store.SignInMargin + 50*time.Millisecond)
		before := s.db.Stats()
		rec := testRecord(fmt.Sprint("kiosk ", i), user, clk.Now(), time.Hour)
		out, err := s.SignIn(t.Context(), &store.SignIn{Record: rec, Limit: limit, LimitReason: store.Reason(7)})
		if err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
		if ended := max(0, min(1, i-limit)); out.Sessions != min(i, limit) || len(out.Ended) != ended {
			t.Fatalf("sign-in %d: %d sessions, ended %d; want %d and %d", i, out.Sessions, len(out.Ended), min(i, limit), ended)
		}
		after := s.db.Stats()
		d := after.TxStats.Sub(&before.TxStats)
		var window map[string]int64
		switch {
		case i > 190 && i <= 200:
			window = early
		case i > signIns-10:
			window = late
		default:
			continue
		}
		for name, n := range map[string]int64{"nodes": d.GetNodeCount(), "cursors": d.GetCursorCount(), "pages written": d.GetWrite()} {
			window[name] = max(window[name], n)
		}
	}
	for name, n := range late {
		t.Logf("%s per sign-in: at most %d over the 191st to 200th sign-ins, %d over the 2,991st to 3,000th", name, early[name], n)
		if n > max(early[name]*6/5, early[name]+2) {
			t.Errorf("%s: a sign-in at the bound takes up to %d around the 3,000th sign-in, %d around the 200th", name, n, early[name])
		}
	}
	recs, err := s.ListUser(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != limit {
		t.Errorf("after %d sign-ins: %d records, want %d", signIns, len(recs), limit)
	}
}
