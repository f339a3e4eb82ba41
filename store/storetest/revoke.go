package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// reasonSignedOut stands for a reason the session layer defines: any value
// above store.ReasonExpired, which the store keeps for store.ReasonTTL.
const reasonSignedOut store.Reason = 9

// forwarding checks Rotate with a grace time, the periodic rotation: the
// old record stays live as a forwarder in the same step.
func (s suite) forwarding(t *testing.T) {
	st := s.store(t)
	old := newRecord(t, "alice")
	mustCreate(t, st, old)
	next := newRecord(t, "alice")
	next.Lineage = old.Key
	grace := time.Now().Add(30 * time.Second).Truncate(time.Millisecond)
	if err := st.Rotate(t.Context(), old.Key, 1, next, grace); err != nil {
		t.Fatalf("Rotate with grace: %v", err)
	}
	if next.Version != 1 {
		t.Errorf("next.Version = %d, want 1", next.Version)
	}
	fwd := old.Clone()
	fwd.Successor, fwd.GraceUntil = next.Key, grace
	checkLive(t, st, "old record after a rotation with grace", old.Key, fwd, 2)
	checkLive(t, st, "new record", next.Key, next, 1)
	checkListed(t, st, "both records", "alice", old.Key, next.Key)

	t.Run("RetryConflicts", func(t *testing.T) {
		// A client library that resends the rotation after losing the reply
		// must get an error, and change nothing.
		again := next.Clone()
		again.Version = 0
		err := st.Rotate(t.Context(), old.Key, 1, again, grace)
		checkErr(t, "the same rotation again", err, store.ErrConflict, store.ErrExists)
		checkLive(t, st, "old record", old.Key, fwd, 2)
	})
	t.Run("RevokeLineageEndsBoth", func(t *testing.T) {
		n, err := st.RevokeLineage(t.Context(), "alice", old.Key, reasonSignedOut)
		if err != nil || n != 2 {
			t.Fatalf("RevokeLineage = %d, %v; want 2, nil", n, err)
		}
		checkGetErr(t, st, "forwarder", old.Key, store.ErrGone)
		checkGetErr(t, st, "successor", next.Key, store.ErrGone)
	})
}

// reasons checks that a tombstone keeps its reason, and keeps it for
// store.ReasonTTL even when the record would have expired sooner.
func (s suite) reasons(t *testing.T) {
	st := s.store(t)
	shortLived := expireIn(newRecord(t, "alice"), 300*time.Millisecond)
	mustCreate(t, st, shortLived)
	if err := st.Delete(t.Context(), shortLived.Key, reasonSignedOut); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	renewed := newRecord(t, "alice")
	mustCreate(t, st, renewed)
	if err := st.Rotate(t.Context(), renewed.Key, 1, newRecord(t, "alice"), time.Time{}); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	checkReason(t, st, "deleted record", shortLived.Key, reasonSignedOut)
	checkReason(t, st, "rotated-away record", renewed.Key, store.ReasonRenewed)
	time.Sleep(time.Until(shortLived.Expires) + 200*time.Millisecond)
	checkReason(t, st, "deleted record past its Expires", shortLived.Key, reasonSignedOut)
	again := newRecord(t, "")
	again.Key = shortLived.Key
	checkErr(t, "Create over a tombstone that keeps a reason", st.Create(t.Context(), again), store.ErrExists)
}

func checkReason(t *testing.T, st store.Store, what, key string, want store.Reason) {
	t.Helper()
	_, err := st.Get(t.Context(), key)
	got, ok := store.ReasonOf(err)
	if !errors.Is(err, store.ErrGone) || !ok || got != want {
		t.Errorf("%s: Get: err = %v (reason %d), want a GoneError with reason %d", what, err, got, want)
	}
}

// revoke checks RevokeUser and RevokeLineage (invariant I11): what they
// select ends, the rest does not, and nothing renewed or rotated at the
// same time escapes.
func (s suite) revoke(t *testing.T) {
	t.Run("RevokeUserKeepsOneLineage", func(t *testing.T) {
		st := s.store(t)
		kept, a, b, bob := newRecord(t, "alice"), newRecord(t, "alice"), newRecord(t, "alice"), newRecord(t, "bob")
		for _, r := range []*store.Record{kept, a, b, bob} {
			mustCreate(t, st, r)
		}
		keptNext := newRecord(t, "alice")
		keptNext.Lineage = kept.Key
		if err := st.Rotate(t.Context(), kept.Key, 1, keptNext, time.Now().Add(time.Minute)); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		rev, err := st.RevokeUser(t.Context(), "alice", kept.Key, reasonSignedOut)
		if n := rev.Ended; err != nil || n != 2 {
			t.Fatalf("RevokeUser = %d, %v; want 2, nil", n, err)
		}
		checkReason(t, st, "revoked record", a.Key, reasonSignedOut)
		checkReason(t, st, "revoked record", b.Key, reasonSignedOut)
		mustGet(t, st, kept.Key)
		mustGet(t, st, keptNext.Key)
		mustGet(t, st, bob.Key)
		checkListed(t, st, "after RevokeUser", "alice", kept.Key, keptNext.Key)
		checkErr(t, "Rotate of a revoked record", st.Rotate(t.Context(), a.Key, 1, newRecord(t, "alice"), time.Time{}), store.ErrGone)
		checkErr(t, "Update of a revoked record", st.Update(t.Context(), a), store.ErrGone)

		rev, err = st.RevokeUser(t.Context(), "alice", "", reasonSignedOut)
		if n := rev.Ended; err != nil || n != 2 {
			t.Fatalf("RevokeUser keeping nothing = %d, %v; want 2, nil", n, err)
		}
		checkListed(t, st, "after RevokeUser keeping nothing", "alice")
		if rev, err := st.RevokeUser(t.Context(), "", "", reasonSignedOut); err != nil || rev != (store.Revocation{}) {
			t.Errorf(`RevokeUser("") = %+v, %v; want nothing done`, rev, err)
		}
	})

	t.Run("RevokeLineageEndsOnlyIt", func(t *testing.T) {
		st := s.store(t)
		first, other := newRecord(t, "alice"), newRecord(t, "alice")
		mustCreate(t, st, first)
		mustCreate(t, st, other)
		renewed := newRecord(t, "alice")
		renewed.Lineage = first.Key
		if err := st.Rotate(t.Context(), first.Key, 1, renewed, time.Time{}); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		n, err := st.RevokeLineage(t.Context(), "alice", first.Key, reasonSignedOut)
		if err != nil || n != 1 {
			t.Fatalf("RevokeLineage = %d, %v; want 1, nil", n, err)
		}
		checkReason(t, st, "renewed record of the lineage", renewed.Key, reasonSignedOut)
		mustGet(t, st, other.Key)
		checkListed(t, st, "after RevokeLineage", "alice", other.Key)
	})

	t.Run("NothingEscapesWhileRenewing", s.revokeRacingRenewals)
}

// revokeRacingRenewals runs RevokeUser while every other session of the
// user renews itself as fast as it can, with and without grace, and checks
// that once RevokeUser has returned no record of those sessions is live:
// neither one that existed when it started nor one a renewal made.
func (s suite) revokeRacingRenewals(t *testing.T) {
	const sessions = 6
	for round := range rounds / 2 {
		st := s.store(t)
		heads := make([]*store.Record, sessions)
		for i := range heads {
			heads[i] = newRecord(t, "alice")
			mustCreate(t, st, heads[i])
		}
		kept := heads[0].Key
		var (
			mu      sync.Mutex
			created [sessions][]string // every key a renewal made, per session
			revoked atomic.Bool
			late    atomic.Int32 // renewals that succeeded after RevokeUser returned
		)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := 1; i < sessions; i++ {
			wg.Go(func() {
				cur := heads[i]
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					next := newRecord(t, "alice")
					next.Lineage = cur.LineageKey()
					var grace time.Time
					if n%2 == 1 {
						grace = time.Now().Add(time.Minute)
					}
					after := revoked.Load()
					err := st.Rotate(t.Context(), cur.Key, cur.Version, next, grace)
					if err != nil {
						if errors.Is(err, store.ErrGone) || errors.Is(err, store.ErrNotFound) {
							return // revoked: what the test waits for
						}
						t.Errorf("session %d: Rotate: %v", i, err)
						return
					}
					if after {
						late.Add(1)
					}
					mu.Lock()
					created[i] = append(created[i], next.Key)
					mu.Unlock()
					cur = next
				}
			})
		}
		time.Sleep(time.Duration(round%4) * time.Millisecond)
		rev, err := st.RevokeUser(t.Context(), "alice", kept, reasonSignedOut)
		n := rev.Ended
		revoked.Store(true)
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("round %d: RevokeUser: %v", round, err)
		}
		if n < sessions-1 {
			t.Errorf("round %d: RevokeUser ended %d records, want at least %d", round, n, sessions-1)
		}
		// Whatever the renewals do from now on, none of their records may
		// be live. Give them a moment to try.
		time.Sleep(5 * time.Millisecond)
		close(stop)
		wg.Wait()
		if l := late.Load(); l > 0 {
			t.Errorf("round %d: %d renewals succeeded after RevokeUser returned", round, l)
		}
		for i := 1; i < sessions; i++ {
			for _, key := range append([]string{heads[i].Key}, created[i]...) {
				if rec, err := st.Get(t.Context(), key); err == nil {
					t.Errorf("round %d: session %d: record %s is live after RevokeUser (successor %q)", round, i, short([]string{key}), rec.Successor)
				}
			}
		}
		mustGet(t, st, kept)
		checkListed(t, st, "after RevokeUser", "alice", kept)
	}
}
