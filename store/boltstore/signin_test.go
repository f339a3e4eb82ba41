package boltstore

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/storetest"
)

// TestSignInKeepsTheLineageIndex: the lineage buckets follow every write,
// the bound and the sweeper, and empty out with the records.
func TestSignInKeepsTheLineageIndex(t *testing.T) {
	clk := newClock()
	s := openAt(t, tempPath(t), Options{Now: clk.Now, SweepInterval: -1})
	ctx := t.Context()
	var recs []*store.Record
	for i, name := range []string{"a", "b", "c", "d"} {
		rec := testRecord(name, "alice", clk.Now(), time.Hour)
		if _, err := s.SignIn(ctx, &store.SignIn{Record: rec}); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
		clk.Advance(time.Duration(i+1) * time.Second)
	}
	next := testRecord("b2", "alice", clk.Now(), time.Hour)
	next.Lineage = recs[1].Key
	if err := s.Rotate(ctx, recs[1].Key, 1, next, clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	checkFile(t, s.db)
	clk.Advance(5 * time.Second)
	out, err := s.SignIn(ctx, &store.SignIn{Record: testRecord("e", "alice", clk.Now(), time.Hour), Limit: 2, LimitReason: store.ReasonExpired + 3})
	if err != nil {
		t.Fatal(err)
	}
	// a, c and d were last used before b's rotation: they end, b and e stay.
	if want := []string{recs[0].Key, recs[2].Key, recs[3].Key}; !slices.Equal(out.Ended, want) || out.Sessions != 2 {
		t.Errorf("Ended %v, Sessions %d; want %v, 2", out.Ended, out.Sessions, want)
	}
	checkFile(t, s.db)
	if _, err := s.RevokeUser(ctx, "alice", "", store.ReasonExpired+4); err != nil {
		t.Fatal(err)
	}
	clk.Advance(store.ReasonTTL + store.MarkTTL)
	if _, err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := checkFile(t, s.db); n != (fileCounts{}) {
		t.Errorf("after the sweep: %+v, want an empty file", n)
	}
	checkEmpty(t, s.db, bucketLineages, bucketLineageUse, bucketLineageKeys, bucketMarks)
}

// TestOpenUpgradesTheFirstLayout: a file of the first layout, without the
// lineage buckets, is indexed when it opens, and its sessions are bounded
// by last use as if they had been written by this version.
func TestOpenUpgradesTheFirstLayout(t *testing.T) {
	clk := newClock()
	path := tempPath(t)
	s := openAt(t, path, Options{Now: clk.Now, SweepInterval: -1})
	ctx := t.Context()
	old, used := testRecord("old", "alice", clk.Now(), time.Hour), testRecord("used", "alice", clk.Now().Add(time.Minute), time.Hour)
	for _, rec := range []*store.Record{old, used, testRecord("anon", "", clk.Now(), time.Hour)} {
		if err := s.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketLineages, bucketLineageUse, bucketLineageKeys, bucketMarks} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyFormat, formatV1)
	})
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	s = openAt(t, path, Options{Now: clk.Now, SweepInterval: -1})
	checkFile(t, s.db)
	out, err := s.SignIn(ctx, &store.SignIn{Record: testRecord("new", "alice", clk.Now(), time.Hour), Limit: 2, LimitReason: store.ReasonExpired + 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{old.Key}; !slices.Equal(out.Ended, want) {
		t.Errorf("Ended %v, want %v: the session last seen first", out.Ended, want)
	}
	checkFile(t, s.db)
}

// checkEmpty fails t unless the buckets are empty.
func checkEmpty(t *testing.T, db *bbolt.DB, buckets ...[]byte) {
	t.Helper()
	err := db.View(func(tx *bbolt.Tx) error {
		for _, b := range buckets {
			if k, _ := tx.Bucket(b).Cursor().First(); k != nil {
				t.Errorf("bucket %s holds %x", b, k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkSignIn(b *testing.B) {
	storetest.BenchmarkSignIn(b, func(b *testing.B, now func() time.Time) store.Store {
		s, err := Open(filepath.Join(b.TempDir(), "sessions.db"), Options{Now: now, SweepInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}
