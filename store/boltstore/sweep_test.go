package boltstore

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/sessionguard/sessionguard/store"
)

// TestSweepRemovesExpired checks that a sweep removes exactly the records
// past their Expires with their index entries, and the tombstones past
// their end, and leaves everything live alone.
func TestSweepRemovesExpired(t *testing.T) {
	clk := newClock()
	s := openAt(t, tempPath(t), Options{SweepInterval: -1, Now: clk.Now})
	ctx := t.Context()
	now := clk.Now()

	short := []*store.Record{
		testRecord("short-anon", "", now, time.Minute),
		testRecord("short-alice", "alice", now, time.Minute),
		testRecord("short-bob", "bob", now, 2*time.Minute),
	}
	long := []*store.Record{
		testRecord("long-alice", "alice", now, time.Hour),
		testRecord("long-anon", "", now, time.Hour),
	}
	for _, rec := range append(short, long...) {
		if err := s.Create(ctx, rec); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	// A record touched past the cut: its expiry entry must move with it.
	moved := testRecord("moved", "carol", now, time.Minute)
	if err := s.Create(ctx, moved); err != nil {
		t.Fatal(err)
	}
	moved.Expires = now.Add(time.Hour)
	if err := s.Update(ctx, moved); err != nil {
		t.Fatal(err)
	}
	// Tombstones ending at the short records' Expires and at an hour.
	shortDead := testRecord("short-dead", "alice", now, time.Minute)
	longDead := testRecord("long-dead", "alice", now, time.Hour)
	for _, rec := range []*store.Record{shortDead, longDead} {
		if err := s.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, rec.Key, store.ReasonNone); err != nil {
			t.Fatal(err)
		}
	}
	before := checkFile(t, s.db)
	if want := (fileCounts{records: 6, tombstones: 2, users: 4, expiry: 6, tombExpiry: 2}); before != want {
		t.Fatalf("before the sweep: %+v, want %+v", before, want)
	}

	// Nothing is due yet.
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("early Sweep = %d, %v; want 0, nil", n, err)
	}

	clk.Advance(2 * time.Minute) // exactly at short-bob's Expires: dead too
	n, err := s.Sweep(ctx)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if n != 4 {
		t.Errorf("Sweep removed %d, want 3 records and 1 tombstone", n)
	}
	after := checkFile(t, s.db)
	if want := (fileCounts{records: 3, tombstones: 1, users: 2, expiry: 3, tombExpiry: 1}); after != want {
		t.Errorf("after the sweep: %+v, want %+v", after, want)
	}
	for _, rec := range short {
		if _, err := s.Get(ctx, rec.Key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("swept record: Get err = %v, want ErrNotFound", err)
		}
	}
	for _, rec := range append(long, moved) {
		if _, err := s.Get(ctx, rec.Key); err != nil {
			t.Errorf("live record: Get: %v", err)
		}
	}
	if _, err := s.Get(ctx, longDead.Key); !errors.Is(err, store.ErrGone) {
		t.Errorf("tombstone in force: Get err = %v, want ErrGone", err)
	}
	// The lapsed tombstone freed its key.
	again := testRecord("short-dead", "", clk.Now(), time.Minute)
	if err := s.Create(ctx, again); err != nil {
		t.Errorf("Create over a swept tombstone: %v", err)
	}
	recs, err := s.ListUser(ctx, "alice")
	if err != nil || len(recs) != 1 || recs[0].Key != long[0].Key {
		t.Errorf("ListUser(alice) = %d records, %v; want long-alice only", len(recs), err)
	}

	clk.Advance(2 * time.Hour)
	if n, err := s.Sweep(ctx); err != nil || n != 5 {
		t.Errorf("second Sweep = %d, %v; want 5 (4 records, 1 tombstone), nil", n, err)
	}
	if got := checkFile(t, s.db); got != (fileCounts{}) {
		t.Errorf("after everything expired: %+v, want an empty store", got)
	}
}

// TestSweepBatches checks that a backlog larger than one transaction's
// batch is swept in full, and that the sweep costs what it removes.
func TestSweepBatches(t *testing.T) {
	clk := newClock()
	s := openAt(t, tempPath(t), Options{SweepInterval: -1, Now: clk.Now})
	s.batch = 50
	const total = 2*50 + 23 // three transactions, the last one partial
	now := clk.Now()
	// Written in one transaction through the same code the store uses, to
	// keep the test fast.
	err := s.update(t.Context(), func(x *txn) error {
		for i := range total {
			rec := testRecord(fmt.Sprint("bulk-", i), fmt.Sprint("user-", i%10), now, time.Duration(1+i%7)*time.Minute)
			if err := x.claim(rec.Key); err != nil {
				return err
			}
			if err := x.putRecord(rec, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	keep := testRecord("keep", "user-1", now, time.Hour)
	if err := s.Create(t.Context(), keep); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Minute)
	n, err := s.Sweep(t.Context())
	if err != nil || n != total {
		t.Fatalf("Sweep = %d, %v; want %d, nil", n, err, total)
	}
	if got, want := checkFile(t, s.db), (fileCounts{records: 1, users: 1, expiry: 1}); got != want {
		t.Errorf("after the sweep: %+v, want %+v", got, want)
	}
}

// TestSweeperRunsInBackground checks the goroutine: records past their
// Expires disappear from the file without anyone calling Sweep.
func TestSweeperRunsInBackground(t *testing.T) {
	s := openAt(t, tempPath(t), Options{SweepInterval: 20 * time.Millisecond})
	now := time.Now()
	for i := range 5 {
		rec := testRecord(fmt.Sprint("bg-", i), "alice", now, 50*time.Millisecond)
		if err := s.Create(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := s.Delete(t.Context(), rec.Key, store.ReasonNone); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n fileCounts
		err := s.db.View(func(tx *bbolt.Tx) error {
			n.records = tx.Bucket(bucketRecords).Stats().KeyN
			n.tombstones = tx.Bucket(bucketTombstones).Stats().KeyN
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == (fileCounts{}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5s after expiry the file still holds %+v", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := checkFile(t, s.db); got != (fileCounts{}) {
		t.Errorf("after the background sweep: %+v, want an empty store", got)
	}
}

// TestCloseStopsSweeper checks that Close waits for the sweeper goroutine
// to return (no goroutine outlives the store), is idempotent, and releases
// the file.
func TestCloseStopsSweeper(t *testing.T) {
	path := tempPath(t)
	s, err := Open(path, Options{SweepInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // let it sweep a few times
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-s.done:
	default:
		t.Fatal("Close returned while the sweeper goroutine was still running")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if _, err := s.Get(t.Context(), testKey("x")); err == nil {
		t.Error("Get after Close succeeded")
	}
	if _, err := s.Sweep(t.Context()); err == nil {
		t.Error("Sweep after Close succeeded")
	}
	// The lock is released: the file opens again at once.
	openAt(t, path, Options{LockTimeout: -1, SweepInterval: -1})
}

// TestListUserPrunes checks that ListUser skips index entries of records
// that expired before the sweeper got to them, and removes them.
func TestListUserPrunes(t *testing.T) {
	clk := newClock()
	s := openAt(t, tempPath(t), Options{SweepInterval: -1, Now: clk.Now})
	now := clk.Now()
	stale := testRecord("stale", "alice", now, time.Minute)
	fresh := testRecord("fresh", "alice", now, time.Hour)
	for _, rec := range []*store.Record{stale, fresh} {
		if err := s.Create(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Minute)
	recs, err := s.ListUser(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Key != fresh.Key {
		t.Fatalf("ListUser = %d records, want the fresh one", len(recs))
	}
	if got, want := checkFile(t, s.db), (fileCounts{records: 1, users: 1, expiry: 1}); got != want {
		t.Errorf("after ListUser: %+v, want the expired record pruned: %+v", got, want)
	}
}

// TestCorruptRecordFailsClosed checks invariant I9 at the store: a record
// that does not decode is an error wrapping store.ErrCorrupt, never "not
// found" (which would let the Manager treat the request as anonymous), and
// the sweeper neither chokes on it nor deletes it.
func TestCorruptRecordFailsClosed(t *testing.T) {
	clk := newClock()
	s := openAt(t, tempPath(t), Options{SweepInterval: -1, Now: clk.Now})
	rec := testRecord("corrupt", "alice", clk.Now(), time.Minute)
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	other := testRecord("other", "bob", clk.Now(), time.Minute)
	if err := s.Create(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	rawPut(t, s.db, bucketRecords, []byte(rec.Key), []byte("\x53garbage"))

	ops := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get(t.Context(), rec.Key); return err }},
		{"Update", func() error { return s.Update(t.Context(), rec) }},
		{"Rotate", func() error {
			return s.Rotate(t.Context(), rec.Key, 1, testRecord("next", "alice", clk.Now(), time.Minute), time.Time{})
		}},
		{"Create", func() error { return s.Create(t.Context(), testRecord("corrupt", "", clk.Now(), time.Minute)) }},
		{"ListUser", func() error { _, err := s.ListUser(t.Context(), "alice"); return err }},
	}
	for _, op := range ops {
		if err := op.call(); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("%s of a corrupt record: err = %v, want ErrCorrupt", op.name, err)
		}
	}
	clk.Advance(time.Hour)
	n, err := s.Sweep(t.Context())
	if !errors.Is(err, store.ErrCorrupt) || n != 1 {
		t.Errorf("Sweep = %d, %v; want 1 (the other record) and an ErrCorrupt report", n, err)
	}
	if _, err := s.Get(t.Context(), rec.Key); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("after the sweep, Get err = %v, want ErrCorrupt still", err)
	}
	if n, err := s.Sweep(t.Context()); err != nil || n != 0 {
		t.Errorf("next Sweep = %d, %v; want 0, nil (reported once)", n, err)
	}
}
