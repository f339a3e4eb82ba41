package memstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return newTestStore(t, Options{})
	})
}

// newTestStore returns a store closed when t ends.
func newTestStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s := New(opts)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// record returns a record for userID that expires after ttl.
func record(t *testing.T, userID string, ttl time.Duration) *store.Record {
	t.Helper()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	return &store.Record{
		Key:         hex.EncodeToString(b[:]),
		UserID:      userID,
		Created:     now,
		LastSeen:    now,
		IdleTimeout: ttl,
		Deadline:    now.Add(12 * time.Hour),
		Expires:     now.Add(ttl),
		Data:        []byte("values"),
	}
}

func mustCreate(t *testing.T, s *Store, rec *store.Record) {
	t.Helper()
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatalf("Create: %v", err)
	}
}

// checkIndex fails t unless byUser is exactly what records imply: every
// signed-in record indexed under its user once, nothing else, no empty
// entries. ListUser's correctness without a scan rests on this.
func checkIndex(t *testing.T, s *Store) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	want := make(map[string]map[string]map[string]struct{})
	for key, rec := range s.records {
		if key != rec.Key {
			t.Errorf("record %s… stored under key %s…", rec.Key[:8], key[:8])
		}
		if _, ok := s.tombstones[key]; ok {
			t.Errorf("key %s… is both a record and a tombstone", key[:8])
		}
		if rec.UserID == "" {
			continue
		}
		if want[rec.UserID] == nil {
			want[rec.UserID] = make(map[string]map[string]struct{})
		}
		l := want[rec.UserID][rec.LineageKey()]
		if l == nil {
			l = make(map[string]struct{})
			want[rec.UserID][rec.LineageKey()] = l
		}
		l[key] = struct{}{}
	}
	got := make(map[string]map[string]map[string]struct{})
	for user, lineages := range s.byUser {
		got[user] = make(map[string]map[string]struct{})
		for lk, l := range lineages {
			got[user][lk] = l.keys
		}
	}
	sameLineages := func(a, b map[string]map[string]struct{}) bool { return maps.EqualFunc(a, b, maps.Equal) }
	if !maps.EqualFunc(got, want, sameLineages) {
		t.Errorf("index = %v, want %v", got, want)
	}
}

// sizes reports what the store holds, expired or not.
func sizes(s *Store) (records, tombstones, users int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.records), len(s.tombstones), len(s.byUser)
}

// TestIndexFollowsEveryWrite checks the per-user index after each kind of
// write, including the ones that move a record between users.
func TestIndexFollowsEveryWrite(t *testing.T) {
	s := newTestStore(t, Options{})
	ctx := t.Context()
	a1, a2, anon := record(t, "alice", time.Hour), record(t, "alice", time.Hour), record(t, "", time.Hour)
	steps := []struct {
		name string
		do   func() error
	}{
		{"create", func() error {
			return errors.Join(s.Create(ctx, a1), s.Create(ctx, a2), s.Create(ctx, anon))
		}},
		{"update to bob", func() error { a1.UserID = "bob"; return s.Update(ctx, a1) }},
		{"update to anonymous", func() error { a1.UserID = ""; return s.Update(ctx, a1) }},
		{"login by rotate", func() error {
			next := record(t, "carol", time.Hour)
			return s.Rotate(ctx, anon.Key, 1, next, time.Time{})
		}},
		{"logout by rotate", func() error {
			recs, err := s.ListUser(ctx, "carol")
			if err != nil || len(recs) != 1 {
				return errors.Join(err, errors.New("carol has no session"))
			}
			return s.Rotate(ctx, recs[0].Key, 1, record(t, "", time.Hour), time.Time{})
		}},
		{"delete", func() error { return s.Delete(ctx, a2.Key, store.ReasonNone) }},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		checkIndex(t, s)
	}
	if _, _, users := sizes(s); users != 0 {
		t.Errorf("%d users indexed after every signed-in session ended, want 0", users)
	}
}

// TestExpiredHiddenBeforeSweep checks that expiry does not wait for the
// sweeper (I5): with sweeping an hour away, an expired record is still
// held but never served.
func TestExpiredHiddenBeforeSweep(t *testing.T) {
	s := newTestStore(t, Options{SweepInterval: time.Hour})
	rec := record(t, "alice", 20*time.Millisecond)
	mustCreate(t, s, rec)
	if got := s.Len(); got != 1 {
		t.Fatalf("Len = %d before expiry, want 1", got)
	}
	time.Sleep(time.Until(rec.Expires) + time.Millisecond)
	if _, err := s.Get(t.Context(), rec.Key); !errors.Is(err, store.ErrGone) {
		t.Errorf("Get after Expires: err = %v, want ErrGone", err)
	} else if r, _ := store.ReasonOf(err); r != store.ReasonExpired {
		t.Errorf("Get after Expires: reason %d, want ReasonExpired", r)
	}
	if recs, err := s.ListUser(t.Context(), "alice"); err != nil || len(recs) != 0 {
		t.Errorf("ListUser after Expires = %d records, %v; want none", len(recs), err)
	}
	if got := s.Len(); got != 0 {
		t.Errorf("Len = %d after expiry, want 0", got)
	}
	if n, _, _ := sizes(s); n != 1 {
		t.Errorf("%d records held before the sweep, want 1 (this test needs it unswept)", n)
	}
}

// TestNoOpRequestsDoNotGrowStore sends what a flood of forged or replayed
// cookies turns into, and checks that none of it takes memory.
func TestNoOpRequestsDoNotGrowStore(t *testing.T) {
	s := newTestStore(t, Options{})
	ctx := t.Context()
	live := record(t, "alice", time.Hour)
	mustCreate(t, s, live)
	r0, t0, u0 := sizes(s)
	for range 1000 {
		forged := record(t, "alice", time.Hour)
		if _, err := s.Get(ctx, forged.Key); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get of a forged key: %v", err)
		}
		forged.Version = 1
		if err := s.Update(ctx, forged); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Update of a forged key: %v", err)
		}
		if err := s.Rotate(ctx, forged.Key, 1, record(t, "alice", time.Hour), time.Time{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Rotate of a forged key: %v", err)
		}
		if err := s.Delete(ctx, forged.Key, store.ReasonNone); err != nil {
			t.Fatalf("Delete of a forged key: %v", err)
		}
		if _, err := s.ListUser(ctx, forged.Key); err != nil {
			t.Fatalf("ListUser of an unknown user: %v", err)
		}
		stale := live.Clone()
		stale.Version = 7
		if err := s.Update(ctx, stale); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale Update: %v", err)
		}
	}
	if r, tb, u := sizes(s); r != r0 || tb != t0 || u != u0 {
		t.Errorf("after 1000 no-op requests: %d records, %d tombstones, %d users; want %d, %d, %d",
			r, tb, u, r0, t0, u0)
	}
}

// TestStoredCopyIsPrivate checks the copy rules the package doc states:
// a deep copy on the way in, fresh structs on the way out.
func TestStoredCopyIsPrivate(t *testing.T) {
	s := newTestStore(t, Options{})
	rec := record(t, "alice", time.Hour)
	mustCreate(t, s, rec)
	rec.Data[0] = 'X' // the caller reuses its buffer
	a, err := s.Get(t.Context(), rec.Key)
	if err != nil {
		t.Fatal(err)
	}
	if string(a.Data) != "values" {
		t.Errorf("stored Data = %q after the caller wrote to its buffer, want %q", a.Data, "values")
	}
	b, err := s.Get(t.Context(), rec.Key)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two Gets returned the same *Record")
	}
}

// TestCancelledContext checks that a done context fails every method with
// an error that wraps the context's, and changes nothing.
func TestCancelledContext(t *testing.T) {
	s := newTestStore(t, Options{})
	live := record(t, "alice", time.Hour)
	mustCreate(t, s, live)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, getErr := s.Get(ctx, live.Key)
	_, listErr := s.ListUser(ctx, "alice")
	for name, err := range map[string]error{
		"Get":      getErr,
		"Create":   s.Create(ctx, record(t, "alice", time.Hour)),
		"Update":   s.Update(ctx, live.Clone()),
		"Rotate":   s.Rotate(ctx, live.Key, 1, record(t, "alice", time.Hour), time.Time{}),
		"Delete":   s.Delete(ctx, live.Key, store.ReasonNone),
		"ListUser": listErr,
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", name, err)
		}
	}
	if got, err := s.Get(t.Context(), live.Key); err != nil || got.Version != 1 {
		t.Errorf("after the cancelled calls: Get = %v, %v; want the record at version 1", got, err)
	}
	if n := s.Len(); n != 1 {
		t.Errorf("Len = %d after the cancelled calls, want 1", n)
	}
}

// TestBadArguments checks that caller bugs are errors, not panics.
func TestBadArguments(t *testing.T) {
	s := newTestStore(t, Options{})
	ctx := t.Context()
	empty := record(t, "alice", time.Hour)
	empty.Key = ""
	live := record(t, "alice", time.Hour)
	mustCreate(t, s, live)
	for name, err := range map[string]error{
		"Create(nil)":       s.Create(ctx, nil),
		"Create(empty key)": s.Create(ctx, empty),
		"Update(nil)":       s.Update(ctx, nil),
		"Rotate(nil next)":  s.Rotate(ctx, live.Key, 1, nil, time.Time{}),
		"Rotate(empty key)": s.Rotate(ctx, live.Key, 1, empty, time.Time{}),
	} {
		if err == nil {
			t.Errorf("%s succeeded", name)
		}
	}
	if _, err := s.Get(ctx, live.Key); err != nil {
		t.Errorf("a rejected Rotate touched the old record: %v", err)
	}
}

// TestClosed checks Close: idempotent, safe to race, and every later call
// fails closed with ErrClosed. The zero value behaves the same.
func TestClosed(t *testing.T) {
	closed := New(Options{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := closed.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	wg.Wait()
	stores := map[string]*Store{"closed": closed, "zero value": new(Store)}
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			rec := record(t, "alice", time.Hour)
			_, getErr := s.Get(ctx, rec.Key)
			_, listErr := s.ListUser(ctx, "alice")
			for op, err := range map[string]error{
				"Get":      getErr,
				"Create":   s.Create(ctx, rec),
				"Update":   s.Update(ctx, rec),
				"Rotate":   s.Rotate(ctx, rec.Key, 1, record(t, "alice", time.Hour), time.Time{}),
				"Delete":   s.Delete(ctx, rec.Key, store.ReasonNone),
				"ListUser": listErr,
			} {
				if !errors.Is(err, ErrClosed) {
					t.Errorf("%s: err = %v, want ErrClosed", op, err)
				}
			}
			if n := s.Len(); n != 0 {
				t.Errorf("Len = %d, want 0", n)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close again: %v", err)
			}
		})
	}
}

// TestCloseLeavesNoGoroutine checks that Close stops the sweeper: the
// goroutine count returns to where it was.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	const n = 50
	before := runtime.NumGoroutine()
	stores := make([]*Store, n)
	for i := range stores {
		stores[i] = New(Options{SweepInterval: time.Millisecond})
	}
	if during := runtime.NumGoroutine(); during < before+n {
		t.Fatalf("%d goroutines with %d stores open, want at least %d", during, n, before+n)
	}
	for _, s := range stores {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Close waits for the sweeper to signal its exit; the goroutine itself
	// ends a moment later, so allow that moment.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, want at most %d", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCloseDuringUse closes a store under load: callers must get results
// or ErrClosed, never a panic or a race.
func TestCloseDuringUse(t *testing.T) {
	s := New(Options{SweepInterval: time.Millisecond})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				rec := record(t, "alice", time.Hour)
				if err := s.Create(context.Background(), rec); err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("Create: %v", err)
					}
					return
				}
				if _, err := s.ListUser(context.Background(), "alice"); err != nil && !errors.Is(err, ErrClosed) {
					t.Errorf("ListUser: %v", err)
					return
				}
			}
		})
	}
	time.Sleep(5 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

func BenchmarkSignIn(b *testing.B) {
	storetest.BenchmarkSignIn(b, func(b *testing.B, now func() time.Time) store.Store {
		s := New(Options{Now: now, SweepInterval: time.Hour})
		b.Cleanup(func() { s.Close() })
		return s
	})
}
