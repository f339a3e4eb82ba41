package pgstore_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/pgstore"
)

// TestRoundTrips checks the round trips of each operation the session
// manager makes on a request: one for a read, one for a write, a sign-in
// (Rotate), a creation and a sign-out; two for a failed update (the second
// query says why).
func TestRoundTrips(t *testing.T) {
	q := &queries{}
	pool := newPool(t, q)
	s := newStore(t, pool, pgstore.Options{SweepInterval: -1})
	ctx := t.Context()
	ops := func() map[string]func() error {
		anon := newRecord(t, "")
		var signedIn *store.Record
		return map[string]func() error{
			"1 create": func() error { return s.Create(ctx, anon) },
			"2 get":    func() error { _, err := s.Get(ctx, anon.Key); return err },
			"3 update": func() error { return s.Update(ctx, anon) },
			"4 rotate": func() error {
				signedIn = newRecord(t, "alice")
				return s.Rotate(ctx, anon.Key, anon.Version, signedIn, time.Time{})
			},
			"5 delete": func() error { return s.Delete(ctx, signedIn.Key, 2) },
		}
	}
	want := map[string]int64{"1 create": 1, "2 get": 1, "3 update": 1, "4 rotate": 1, "5 delete": 1}
	// The first pass prepares the statements on the connections it uses;
	// the ones after count the steady state.
	for pass := range 3 {
		m := ops()
		for _, name := range []string{"1 create", "2 get", "3 update", "4 rotate", "5 delete"} {
			before := q.n.Load()
			if err := m[name](); err != nil {
				t.Fatalf("pass %d, %s: %v", pass, name, err)
			}
			if n := q.n.Load() - before; pass > 0 && n != want[name] {
				t.Errorf("%s: %d round trips, want %d", name, n, want[name])
			}
		}
	}
	stale := newRecord(t, "")
	if err := s.Create(ctx, stale); err != nil {
		t.Fatal(err)
	}
	stale.Version = 7
	before := q.n.Load()
	if err := s.Update(ctx, stale); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale Update: %v, want ErrConflict", err)
	}
	if n := q.n.Load() - before; n != 2 {
		t.Errorf("failed update: %d round trips, want 2", n)
	}
}

// TestRevokeRacingRotations rotates many sessions of one user in parallel
// while RevokeUser runs. Whatever the interleaving, once RevokeUser has
// returned no session of the user may be live, and none may be made by
// rotating one written before it: a revocation that read the user's
// records before an in-flight rotation committed would leave that
// rotation's new record alive. Each chain has exactly one live record at
// any time, so RevokeUser must end exactly one per chain.
func TestRevokeRacingRotations(t *testing.T) {
	pool := newPool(t, nil)
	s := newStore(t, pool, pgstore.Options{SweepInterval: -1})
	ctx := t.Context()
	const workers = 8
	for round := range 5 {
		user := fmt.Sprintf("user-%d", round)
		heads := make([]*store.Record, workers)
		for i := range heads {
			heads[i] = newRecord(t, user)
			if err := s.Create(ctx, heads[i]); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cur := heads[i]
				for {
					next := newRecord(t, user)
					next.Lineage = cur.LineageKey()
					err := s.Rotate(ctx, cur.Key, cur.Version, next, time.Time{})
					if err == nil {
						cur = next
						continue
					}
					if !errors.Is(err, store.ErrGone) {
						errs <- fmt.Errorf("rotate: %v", err)
					}
					return
				}
			}()
		}
		go func() {
			defer close(done)
			time.Sleep(time.Duration(round) * 5 * time.Millisecond)
			rev, err := s.RevokeUser(ctx, user, "", 5)
			if err != nil {
				errs <- fmt.Errorf("RevokeUser: %v", err)
			}
			if n := rev.Ended; n != workers {
				errs <- fmt.Errorf("RevokeUser ended %d records, want %d (one live head per chain)", n, workers)
			}
			// Right after the revocation, nothing of the user is live.
			if recs, err := s.ListUser(ctx, user); err != nil || len(recs) != 0 {
				errs <- fmt.Errorf("after RevokeUser: ListUser = %d records, %v; want none", len(recs), err)
			}
		}()
		<-done
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		if recs, err := s.ListUser(ctx, user); err != nil || len(recs) != 0 {
			t.Errorf("round %d: at the end ListUser = %d records, %v; want none", round, len(recs), err)
		}
	}
}

// TestSweep checks that Sweep deletes expired records and lapsed
// tombstones, batch by batch, and leaves live ones.
func TestSweep(t *testing.T) {
	pool := newPool(t, nil)
	var clock time.Time
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	clock = time.Now()
	s := newStore(t, pool, pgstore.Options{SweepInterval: -1, Now: now})
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
			if err := s.Delete(ctx, rec.Key, store.ReasonRenewed); err != nil { // a tombstone until its Expires
				t.Fatal(err)
			}
		}
	}
	count := func() int {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM sessionguard_sessions").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("Sweep before anything expired: %d, %v", n, err)
	}
	mu.Lock()
	clock = clock.Add(2 * time.Minute)
	mu.Unlock()
	if n, err := s.Sweep(ctx); err != nil || n != 5 {
		t.Fatalf("Sweep = %d, %v; want 5 (4 records, 1 tombstone) in batches of 3", n, err)
	}
	if n := count(); n != len(keep) {
		t.Errorf("%d rows left, want %d", n, len(keep))
	}
	for _, rec := range keep {
		if _, err := s.Get(ctx, rec.Key); err != nil {
			t.Errorf("live record swept: %v", err)
		}
	}
}

// TestCreateTableConcurrently runs CreateTable from several instances at
// once, as a fleet starting together would, and again over an existing
// schema.
func TestCreateTableConcurrently(t *testing.T) {
	pool := newPool(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- pgstore.New(pool, pgstore.Options{SweepInterval: -1}).CreateTable(t.Context())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestClosed checks that a closed store refuses every method.
func TestClosed(t *testing.T) {
	pool := newPool(t, nil)
	s := pgstore.New(pool, pgstore.Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), newKey(t)); !errors.Is(err, pgstore.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if err := s.Create(t.Context(), newRecord(t, "")); !errors.Is(err, pgstore.ErrClosed) {
		t.Errorf("Create after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestBackgroundSweeper checks that the sweeper New starts deletes expired
// rows by itself, and that Close stops it.
func TestBackgroundSweeper(t *testing.T) {
	pool := newPool(t, nil)
	s := newStore(t, pool, pgstore.Options{SweepInterval: 20 * time.Millisecond})
	rec := newRecord(t, "carol")
	rec.Expires = time.Now().Add(-time.Second)
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	rows := func() int {
		var n int
		if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM sessionguard_sessions").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for deadline := time.Now().Add(5 * time.Second); rows() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not delete an expired row within 5s")
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestNotText checks that user IDs and keys PostgreSQL's text type cannot
// hold give a clear error, or an empty answer, never a server error.
func TestNotText(t *testing.T) {
	s := newStore(t, newPool(t, nil), pgstore.Options{SweepInterval: -1})
	ctx := t.Context()
	for _, user := range []string{"nul\x00byte", "bad\xffutf8"} {
		rec := newRecord(t, user)
		if err := s.Create(ctx, rec); err == nil || !strings.Contains(err.Error(), "UTF-8 text") {
			t.Errorf("Create with user %q: %v, want the text error", user, err)
		}
		if recs, err := s.ListUser(ctx, user); err != nil || len(recs) != 0 {
			t.Errorf("ListUser(%q) = %d, %v", user, len(recs), err)
		}
		if rev, err := s.RevokeUser(ctx, user, "", 9); err != nil || rev.Ended != 0 {
			t.Errorf("RevokeUser(%q) = %d, %v", user, rev.Ended, err)
		}
		if _, err := s.Get(ctx, user); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q): %v, want ErrNotFound", user, err)
		}
		if err := s.Delete(ctx, user, 9); err != nil {
			t.Errorf("Delete(%q): %v", user, err)
		}
	}
	var zero pgstore.Store
	if _, err := zero.Get(ctx, newKey(t)); err == nil {
		t.Error("Get on a Store not made by New succeeded")
	}
}
