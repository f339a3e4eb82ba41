package boltstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/sessionguard/sessionguard/store"
)

// TestReopenKeepsEverything checks that sessions survive a restart: after a
// clean Close and a new Open, every record is there at its version with
// every field, the user index answers as before, and tombstones still keep
// logged-out and renewed tokens dead (invariants I3, I6).
func TestReopenKeepsEverything(t *testing.T) {
	path := tempPath(t)
	ctx := t.Context()
	now := time.Now()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	anon := testRecord("anon", "", now, time.Hour)
	alice := testRecord("alice-1", "alice", now, time.Hour)
	alice.Persistent = true
	updated := testRecord("alice-2", "alice", now, time.Hour)
	loggedOut := testRecord("bob-1", "bob", now, time.Hour)
	renewedFrom := testRecord("bob-2", "bob", now, time.Hour)
	renewedTo := testRecord("bob-3", "bob", now, 2*time.Hour)
	for _, rec := range []*store.Record{anon, alice, updated, loggedOut, renewedFrom} {
		if err := s.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		updated.Data = append(updated.Data, '+')
		if err := s.Update(ctx, updated); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, loggedOut.Key, store.ReasonNone); err != nil {
		t.Fatal(err)
	}
	if err := s.Rotate(ctx, renewedFrom.Key, 1, renewedTo, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path, Options{})
	for _, c := range []struct {
		rec     *store.Record
		version uint64
	}{{anon, 1}, {alice, 1}, {updated, 4}, {renewedTo, 1}} {
		got, err := s.Get(ctx, c.rec.Key)
		if err != nil {
			t.Errorf("after reopen, Get %s: %v", c.rec.Key[:8], err)
			continue
		}
		want := c.rec.Clone()
		want.Version = c.version
		if d := diff(got, want); d != "" {
			t.Errorf("after reopen, record %s differs: %s", c.rec.Key[:8], d)
		}
	}
	for _, dead := range []*store.Record{loggedOut, renewedFrom} {
		if _, err := s.Get(ctx, dead.Key); !errors.Is(err, store.ErrGone) {
			t.Errorf("after reopen, Get of a dead key: %v, want ErrGone", err)
		}
		again := testRecord("again", "", now, time.Hour)
		again.Key = dead.Key
		if err := s.Create(ctx, again); !errors.Is(err, store.ErrExists) {
			t.Errorf("after reopen, Create over a tombstone: %v, want ErrExists", err)
		}
	}
	for user, want := range map[string][]string{"alice": {alice.Key, updated.Key}, "bob": {renewedTo.Key}} {
		recs, err := s.ListUser(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, r := range recs {
			got[r.Key] = true
		}
		if len(recs) != len(want) || !got[want[0]] || !got[want[len(want)-1]] {
			t.Errorf("after reopen, ListUser(%s) = %d records, want %d", user, len(recs), len(want))
		}
	}
	// Writes go on where they left off.
	if err := s.Update(ctx, updated); err != nil || updated.Version != 5 {
		t.Errorf("Update after reopen: version %d, %v; want 5, nil", updated.Version, err)
	}
	checkFile(t, s.db)
}

// diff describes how got differs from want, or returns "".
func diff(got, want *store.Record) string {
	g, err := got.MarshalBinary()
	if err != nil {
		return err.Error()
	}
	w, err := want.MarshalBinary()
	if err != nil {
		return err.Error()
	}
	if string(g) != string(w) {
		return fmt.Sprintf("got %+v, want %+v", *got, *want)
	}
	return ""
}

// TestLockedFileFailsAfterTimeout checks that a second Open of a file in
// use fails with ErrLocked once LockTimeout has passed, instead of hanging
// (bbolt's own default is to wait forever). flock locks belong to the open
// file, so a second Open in the same process contends like another process
// would; TestLockedByOtherProcess checks the real thing.
func TestLockedFileFailsAfterTimeout(t *testing.T) {
	path := tempPath(t)
	first := openAt(t, path, Options{})
	for _, c := range []struct {
		name    string
		timeout time.Duration
		min     time.Duration
	}{
		{"Timeout", 300 * time.Millisecond, 200 * time.Millisecond},
		{"NegativeFailsAtOnce", -1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			s, err := Open(path, Options{LockTimeout: c.timeout})
			waited := time.Since(start)
			if err == nil {
				s.Close()
				t.Fatal("second Open of a locked file succeeded")
			}
			if !errors.Is(err, ErrLocked) {
				t.Errorf("err = %v, want ErrLocked", err)
			}
			if waited < c.min || waited > c.min+2*time.Second {
				t.Errorf("Open gave up after %v, want about %v", waited, c.min)
			}
			t.Logf("after %v: %v", waited.Round(time.Millisecond), err)
		})
	}
	// The first store is unaffected.
	if err := first.Create(t.Context(), testRecord("still-works", "", time.Now(), time.Hour)); err != nil {
		t.Errorf("first store after the failed Opens: %v", err)
	}
}

// TestOpenRefusesForeignFiles checks that Open does not take over a bbolt
// file of another program, or of a future layout.
func TestOpenRefusesForeignFiles(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(tx *bbolt.Tx) error
	}{
		{"OtherProgram", func(tx *bbolt.Tx) error {
			_, err := tx.CreateBucket([]byte("widgets"))
			return err
		}},
		{"OtherFormat", func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucket(bucketMeta)
			if err != nil {
				return err
			}
			return b.Put(keyFormat, []byte("sessionguard-boltstore/99"))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := tempPath(t)
			db, err := bbolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(c.setup); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrNotStore) {
				t.Errorf("err = %v, want ErrNotStore", err)
			}
			// And the lock was released on the way out.
			db, err = bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatalf("file still locked after the failed Open: %v", err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestOpenOptions checks the documented defaults and that a new file is
// private to its owner.
func TestOpenOptions(t *testing.T) {
	path := tempPath(t)
	s := openAt(t, path, Options{})
	if s.opts.SweepInterval != DefaultSweepInterval || s.opts.LockTimeout != DefaultLockTimeout ||
		s.opts.FileMode != DefaultFileMode || s.opts.Now == nil || s.opts.Logger == nil {
		t.Errorf("defaults not applied: %+v", s.opts)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("new file mode %v, want no access for group and others", perm)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	if _, err := Open(tempPath(t), Options{FileMode: os.ModeDir | 0o700}); err == nil {
		t.Error("Open accepted a FileMode with a type bit")
	}
	if _, err := Open(t.TempDir()+"/missing/dir/sessions.db", Options{}); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

// TestCancelledContext checks that a context already done stops every
// method before it starts a transaction.
func TestCancelledContext(t *testing.T) {
	s := openAt(t, tempPath(t), Options{SweepInterval: -1})
	rec := testRecord("ctx", "alice", time.Now(), time.Hour)
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := map[string]func() error{
		"Get":    func() error { _, err := s.Get(ctx, rec.Key); return err },
		"Create": func() error { return s.Create(ctx, testRecord("new", "", time.Now(), time.Hour)) },
		"Update": func() error { return s.Update(ctx, rec) },
		"Rotate": func() error {
			return s.Rotate(ctx, rec.Key, 1, testRecord("next", "", time.Now(), time.Hour), time.Time{})
		},
		"Delete":   func() error { return s.Delete(ctx, rec.Key, store.ReasonNone) },
		"ListUser": func() error { _, err := s.ListUser(ctx, "alice"); return err },
		"Sweep":    func() error { _, err := s.Sweep(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", name, err)
		}
	}
	if got, err := s.Get(t.Context(), rec.Key); err != nil || got.Version != 1 {
		t.Errorf("after the cancelled calls: Get = %v, %v; want the record untouched", got, err)
	}
}
