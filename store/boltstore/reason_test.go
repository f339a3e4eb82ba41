package boltstore

import (
	"errors"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// reasonSignedOut stands for a reason the session layer defines, above
// store.ReasonExpired.
const reasonSignedOut store.Reason = 9

// TestReasonsSurviveReopen checks that tombstones keep their reasons in
// the file, and keep them store.ReasonTTL past a short record's Expires,
// after the process restarts.
func TestReasonsSurviveReopen(t *testing.T) {
	path := tempPath(t)
	clk := newClock()
	opts := Options{Now: clk.Now, SweepInterval: -1}
	s := openAt(t, path, opts)
	ctx := t.Context()
	now := clk.Now()
	deleted := testRecord("deleted", "alice", now, time.Minute)
	revoked := testRecord("revoked", "alice", now, time.Hour)
	renewed := testRecord("renewed", "bob", now, time.Hour)
	for _, rec := range []*store.Record{deleted, revoked, renewed} {
		if err := s.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, deleted.Key, reasonSignedOut); err != nil {
		t.Fatal(err)
	}
	if rev, err := s.RevokeUser(ctx, "alice", "", reasonSignedOut+1); err != nil || rev.Ended != 1 {
		n := rev.Ended
		t.Fatalf("RevokeUser = %d, %v; want 1, nil", n, err)
	}
	if err := s.Rotate(ctx, renewed.Key, 1, testRecord("next", "bob", now, time.Hour), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	clk.Advance(2 * time.Hour) // past every Expires, within ReasonTTL
	s = openAt(t, path, opts)
	if _, err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		key  string
		want store.Reason
	}{
		{"deleted", deleted.Key, reasonSignedOut},
		{"revoked", revoked.Key, reasonSignedOut + 1},
	} {
		_, err := s.Get(ctx, c.key)
		if r, ok := store.ReasonOf(err); !ok || r != c.want {
			t.Errorf("%s record after reopen: Get: %v, want a GoneError with reason %d", c.what, err, c.want)
		}
	}
	// A renewal's tombstone lasts only until the old record's Expires.
	if _, err := s.Get(ctx, renewed.Key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("renewed-away record two hours on: Get: %v, want ErrNotFound", err)
	}
	clk.Advance(store.ReasonTTL)
	if _, err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := checkFile(t, s.db); n != (fileCounts{}) {
		t.Errorf("a day later the file holds %+v, want nothing", n)
	}
}

// TestTombstoneWithoutReason checks that a tombstone written without a
// reason byte, as earlier versions of the package did, still holds its
// key dead, with store.ReasonNone.
func TestTombstoneWithoutReason(t *testing.T) {
	clk := newClock()
	s := openAt(t, tempPath(t), Options{Now: clk.Now, SweepInterval: -1})
	key := testKey("old-format")
	end := stamp(clk.Now().Add(time.Hour))
	rawPut(t, s.db, bucketTombstones, []byte(key), appendStamp(nil, end))
	rawPut(t, s.db, bucketTombExpiry, expiryKey(end, key), []byte{})

	_, err := s.Get(t.Context(), key)
	if r, ok := store.ReasonOf(err); !ok || r != store.ReasonNone {
		t.Errorf("Get: %v, want a GoneError with no reason", err)
	}
	rec := testRecord("old-format", "", clk.Now(), time.Hour)
	if err := s.Create(t.Context(), rec); !errors.Is(err, store.ErrExists) {
		t.Errorf("Create over the tombstone: %v, want ErrExists", err)
	}
	clk.Advance(time.Hour)
	if n, err := s.Sweep(t.Context()); err != nil || n != 1 {
		t.Errorf("Sweep = %d, %v; want 1, nil", n, err)
	}
	checkFile(t, s.db)
}
