package redisstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/redisstore"
)

// reasonRevoked stands for a reason the session layer defines, above
// store.ReasonExpired.
const reasonRevoked store.Reason = 9

// TestShardedRevocationInterrupted checks what the package documentation
// promises when a sharded revocation stops after its first step: the
// selected records can no longer be rotated, are not listed, and the next
// ListUser tombstones those still live.
func TestShardedRevocationInterrupted(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	st := redisstore.NewSharded(client, redisstore.Options{})
	ctx := t.Context()
	kept, a, b := newRecord(t, "alice"), newRecord(t, "alice"), newRecord(t, "alice")
	for _, rec := range []*store.Record{kept, a, b} {
		if err := st.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SelectOnly(ctx, "alice", kept.Key, reasonRevoked); err != nil {
		t.Fatal(err)
	}
	// Not tombstoned yet: a is still readable, but a renewal is refused
	// and makes nothing.
	if _, err := st.Get(ctx, a.Key); err != nil {
		t.Fatalf("Get of a selected record before the second step: %v", err)
	}
	next := newRecord(t, "alice")
	next.Lineage = a.Key
	err := st.Rotate(ctx, a.Key, a.Version, next, time.Time{})
	if r, ok := store.ReasonOf(err); !ok || r != reasonRevoked {
		t.Errorf("Rotate of a selected record: %v, want a GoneError with reason %d", err, reasonRevoked)
	}
	if _, err := st.Get(ctx, next.Key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused rotation's record: Get: %v, want ErrNotFound", err)
	}
	withGrace := newRecord(t, "alice")
	withGrace.Lineage = b.Key
	if err := st.Rotate(ctx, b.Key, b.Version, withGrace, time.Now().Add(time.Minute)); !errors.Is(err, store.ErrGone) {
		t.Errorf("Rotate with grace of a selected record: %v, want ErrGone", err)
	}
	// ListUser lists only the kept session and finishes the revocation.
	recs, err := st.ListUser(ctx, "alice")
	if err != nil || len(recs) != 1 || recs[0].Key != kept.Key {
		t.Errorf("ListUser = %d records, %v; want only the kept one", len(recs), err)
	}
	for _, rec := range []*store.Record{a, b} {
		if _, err := st.Get(ctx, rec.Key); !errors.Is(err, store.ErrGone) {
			t.Errorf("selected record after ListUser: Get: %v, want ErrGone", err)
		}
	}
	if _, err := st.Get(ctx, b.Key); err != nil {
		if r, _ := store.ReasonOf(err); r != reasonRevoked {
			t.Errorf("selected record b ended with reason %d, want %d", r, reasonRevoked)
		}
	}
	if _, err := st.Get(ctx, kept.Key); err != nil {
		t.Errorf("kept record: %v", err)
	}
}

// TestShardedRevocationPreemptsCreation checks that a sharded revocation
// reaching a key whose index entry exists but whose record is not yet
// written (a Create or Rotate between its two steps) counts it and makes
// its creation fail.
func TestShardedRevocationPreemptsCreation(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	st := redisstore.NewSharded(client, redisstore.Options{})
	ctx := t.Context()
	rec := newRecord(t, "alice")
	if err := st.RegisterOnly(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rev, err := st.RevokeUser(ctx, "alice", "", reasonRevoked)
	if err != nil || rev.Ended != 1 {
		t.Fatalf("RevokeUser = %d, %v; want 1, nil", rev.Ended, err)
	}
	if err := st.Create(ctx, rec); !errors.Is(err, store.ErrExists) {
		t.Errorf("Create after the revocation: %v, want ErrExists", err)
	}
	_, err = st.Get(ctx, rec.Key)
	if r, ok := store.ReasonOf(err); !ok || r != reasonRevoked {
		t.Errorf("Get: %v, want a GoneError with reason %d", err, reasonRevoked)
	}
}

// TestListUserBatches checks that a listing of an index far larger than
// one batch returns every record once, in several round trips, in both
// layouts.
func TestListUserBatches(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	const n = 700
	for _, c := range []struct {
		name string
		st   *redisstore.Store
	}{
		{"SingleSlot", redisstore.New(client, redisstore.Options{})},
		{"Sharded", redisstore.NewSharded(client, redisstore.Options{})},
	} {
		t.Run(c.name, func(t *testing.T) {
			flush(t, client)
			ctx := t.Context()
			want := make(map[string]bool, n)
			for range n {
				rec := newRecord(t, "crowd")
				if err := c.st.Create(ctx, rec); err != nil {
					t.Fatal(err)
				}
				want[rec.Key] = true
			}
			rt := &roundTrips{}
			client.AddHook(rt)
			var recs []*store.Record
			var err error
			trips, _ := rt.measure(func() { recs, err = c.st.ListUser(ctx, "crowd") })
			if err != nil {
				t.Fatal(err)
			}
			got := make(map[string]bool, len(recs))
			for _, r := range recs {
				if got[r.Key] {
					t.Errorf("ListUser returned %s… twice", r.Key[:8])
				}
				got[r.Key] = true
				if !want[r.Key] {
					t.Errorf("ListUser returned %s…, not a record of the user", r.Key[:8])
				}
			}
			if len(got) != n {
				t.Errorf("ListUser returned %d records, want %d", len(got), n)
			}
			if trips < 2 {
				t.Errorf("ListUser of %d records took %d round trips: one script walked the whole index", n, trips)
			}
			t.Logf("%d records listed in %d round trips", len(got), trips)
		})
	}
}

// TestReasonTombstoneTTL checks that a tombstone with a reason above
// store.ReasonExpired is kept store.ReasonTTL, and one without, only
// until the record's Expires.
func TestReasonTombstoneTTL(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	look := inspector(t, srv)
	for _, sharded := range []bool{false, true} {
		t.Run(fmt.Sprintf("sharded=%v", sharded), func(t *testing.T) {
			flush(t, client)
			st := redisstore.New(client, redisstore.Options{})
			if sharded {
				st = redisstore.NewSharded(client, redisstore.Options{})
			}
			ctx := t.Context()
			deleted, revoked, renewed := newRecord(t, "alice"), newRecord(t, "alice"), newRecord(t, "bob")
			for _, rec := range []*store.Record{deleted, revoked, renewed} {
				if err := st.Create(ctx, rec); err != nil {
					t.Fatal(err)
				}
			}
			before := time.Now()
			if err := st.Delete(ctx, deleted.Key, reasonRevoked); err != nil {
				t.Fatal(err)
			}
			if n, err := st.RevokeLineage(ctx, "alice", revoked.Key, reasonRevoked+1); err != nil || n != 1 {
				t.Fatalf("RevokeLineage = %d, %v; want 1, nil", n, err)
			}
			if err := st.Rotate(ctx, renewed.Key, 1, newRecord(t, "bob"), time.Time{}); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			for _, c := range []struct {
				rec    *store.Record
				reason store.Reason
			}{{deleted, reasonRevoked}, {revoked, reasonRevoked + 1}} {
				got := expireTime(t, look, st.RecordKey(c.rec.Key))
				if lo, hi := before.Add(store.ReasonTTL).UnixMilli(), after.Add(store.ReasonTTL).UnixMilli(); got < lo || got > hi {
					t.Errorf("tombstone with reason %d expires at %d, want now+ReasonTTL (%d..%d)", c.reason, got, lo, hi)
				}
				_, err := st.Get(ctx, c.rec.Key)
				if r, ok := store.ReasonOf(err); !ok || r != c.reason {
					t.Errorf("Get: %v, want a GoneError with reason %d", err, c.reason)
				}
			}
			if got, want := expireTime(t, look, st.RecordKey(renewed.Key)), renewed.Expires.UnixMilli(); got != want {
				t.Errorf("renewal's tombstone expires at %d, want the record's Expires %d", got, want)
			}
			if got, want := expireTime(t, look, st.LineagesKey("bob")), expireTime(t, look, st.IndexKey("bob")); got != want {
				t.Errorf("lineage hash expires at %d, index at %d: want the same", got, want)
			}
		})
	}
}

// TestPipelineAfterScriptFlush checks that a pipeline of scripts a server
// no longer holds (after a restart, a failover or SCRIPT FLUSH) is run
// again in one more pipeline, not one round trip per call.
func TestPipelineAfterScriptFlush(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	st := redisstore.NewSharded(client, redisstore.Options{})
	ctx := t.Context()
	const n = 50
	for range n {
		if err := st.Create(ctx, newRecord(t, "alice")); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	rt := &roundTrips{}
	client.AddHook(rt)
	var recs []*store.Record
	var err error
	trips, cmds := rt.measure(func() { recs, err = st.ListUser(ctx, "alice") })
	if err != nil || len(recs) != n {
		t.Fatalf("ListUser = %d records, %v; want %d", len(recs), err, n)
	}
	// The index script: EVALSHA, then EVAL. The records' scripts: one
	// pipeline of EVALSHA, then one of EVAL.
	if trips > 4 {
		t.Errorf("ListUser after SCRIPT FLUSH took %d round trips, want at most 4 (%d commands)", trips, len(cmds))
	}
}
