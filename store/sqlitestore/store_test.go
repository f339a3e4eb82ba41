package sqlitestore_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/sqlitestore"
)

func newRecord(t testing.TB, userID string) *store.Record {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	return &store.Record{
		Key: hex.EncodeToString(b[:]), UserID: userID,
		Created: now, LastSeen: now, IdleTimeout: time.Hour,
		Deadline: now.Add(12 * time.Hour), Expires: now.Add(time.Hour), Data: []byte("values"),
	}
}

// TestReopen checks that sessions, tombstones and their reasons survive a
// close and reopen, in a directory whose name needs escaping in a URI.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd dir?#%", "sessions.db")
	if _, err := sqlitestore.Open(path, sqlitestore.Options{}); err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
	if err := mkdir(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	s, err := sqlitestore.Open(path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil {
		t.Errorf("the file is not where it was asked for: %v", err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("the new file has mode %v, want 0600", fi.Mode().Perm())
	}
	live, ended := newRecord(t, "alice"), newRecord(t, "alice")
	for _, r := range []*store.Record{live, ended} {
		if err := s.Create(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(t.Context(), ended.Key, 9); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), live.Key); !errors.Is(err, sqlitestore.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	var zero sqlitestore.Store
	if _, err := zero.Get(t.Context(), live.Key); err == nil {
		t.Error("Get on a Store not made by Open succeeded")
	}
	if err := zero.Close(); err != nil {
		t.Errorf("Close of a zero Store: %v", err)
	}
	s = openAt(t, path, sqlitestore.Options{})
	if got, err := s.Get(t.Context(), live.Key); err != nil || got.UserID != "alice" || got.Version != 1 {
		t.Errorf("after reopen: Get = %+v, %v", got, err)
	}
	checkReason(t, s, "deleted before the reopen", ended.Key, 9)
}

// TestNotStore checks that Open refuses a database that belongs to
// something else, and leaves it as it was.
func TestNotStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE users (name TEXT)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := sqlitestore.Open(path, sqlitestore.Options{}); !errors.Is(err, sqlitestore.ErrNotStore) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of another application's database: %v, want ErrNotStore", err)
	}
	db, _ = sql.Open("sqlite", path)
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'sessionguard%'").Scan(&n); err != nil || n != 0 {
		t.Errorf("Open added %d tables to it (%v)", n, err)
	}
}

// TestTwoStoresOneFile runs rotations through one store and a revocation
// through another on the same file, as two processes would: SQLite's file
// lock serializes them, so no renewal escapes the revocation.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	a := openAt(t, path, sqlitestore.Options{SweepInterval: -1})
	b := openAt(t, path, sqlitestore.Options{SweepInterval: -1})
	ctx := t.Context()
	const chains = 6
	for round := range 5 {
		user := fmt.Sprint("user-", round)
		var wg sync.WaitGroup
		errs := make(chan error, chains+1)
		stop := make(chan struct{}) // closed when the revocation failed
		for range chains {
			cur := newRecord(t, user)
			if err := a.Create(ctx, cur); err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					// A short pause: six writers of one process that never
					// let go of the file's write lock would starve the
					// other process (SQLITE_BUSY after BusyTimeout), which
					// is not what this test is about.
					time.Sleep(200 * time.Microsecond)
					next := newRecord(t, user)
					next.Lineage = cur.LineageKey()
					if err := a.Rotate(ctx, cur.Key, cur.Version, next, time.Time{}); err != nil {
						if !errors.Is(err, store.ErrGone) {
							errs <- err
						}
						return
					}
					cur = next
				}
			})
		}
		time.Sleep(time.Duration(round) * 2 * time.Millisecond)
		rev, err := b.RevokeUser(ctx, user, "", 9)
		if n := rev.Ended; err != nil || n != chains {
			t.Errorf("round %d: RevokeUser = %d, %v; want %d (one live record per chain)", round, n, err, chains)
		}
		if err != nil {
			close(stop)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: Rotate: %v", round, err)
		}
		if recs, err := a.ListUser(ctx, user); err != nil || len(recs) != 0 {
			t.Errorf("round %d: after RevokeUser: %d records listed (%v), want none", round, len(recs), err)
		}
	}
}

// TestSweep checks that Sweep deletes expired records and lapsed
// tombstones in batches, and leaves live ones.
func TestSweep(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s := openTemp(t, sqlitestore.Options{SweepInterval: -1, Now: now})
	s.SetSweepBatch(3)
	ctx := t.Context()
	var keep []*store.Record
	for i := range 10 {
		rec := newRecord(t, "bob")
		if i%2 == 0 {
			rec.Expires = clock.Add(time.Minute)
		} else {
			keep = append(keep, rec)
		}
		if err := s.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := s.Delete(ctx, rec.Key, store.ReasonRenewed); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("Sweep before anything expired = %d, %v", n, err)
	}
	mu.Lock()
	clock = clock.Add(2 * time.Minute)
	mu.Unlock()
	if n, err := s.Sweep(ctx); err != nil || n != 5 {
		t.Fatalf("Sweep = %d, %v; want 5 (4 records and 1 tombstone) in batches of 3", n, err)
	}
	for _, rec := range keep {
		if _, err := s.Get(ctx, rec.Key); err != nil {
			t.Errorf("live record swept: %v", err)
		}
	}
	if recs, err := s.ListUser(ctx, "bob"); err != nil || len(recs) != len(keep) {
		t.Errorf("ListUser = %d records, %v; want %d", len(recs), err, len(keep))
	}
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o700) }

// TestBackgroundSweeper checks that the sweeper Open starts deletes
// expired rows by itself.
func TestBackgroundSweeper(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	s := openAt(t, path, sqlitestore.Options{SweepInterval: 20 * time.Millisecond})
	rec := newRecord(t, "carol")
	rec.Expires = time.Now().Add(-time.Second)
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM sessionguard_sessions").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not delete an expired row within 5s")
		}
	}
}
