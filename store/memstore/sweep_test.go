package memstore

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// The sweeper tests run in a synctest bubble: time is virtual, so the real
// one-minute default is tested without waiting for it, and the bubble fails
// the test if the sweeper goroutine outlives the store's Close.

func TestSweeperRemovesExpired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{}) // the default interval, one minute
		defer closeStore(t, s)
		ctx := t.Context()

		short, long := record(t, "alice", 30*time.Second), record(t, "alice", time.Hour)
		anon := record(t, "", 30*time.Second)
		deadSoon, deadLater := record(t, "bob", 30*time.Second), record(t, "bob", time.Hour)
		for _, rec := range []*store.Record{short, long, anon, deadSoon, deadLater} {
			mustCreate(t, s, rec)
		}
		for _, key := range []string{deadSoon.Key, deadLater.Key} {
			if err := s.Delete(ctx, key, store.ReasonNone); err != nil {
				t.Fatal(err)
			}
		}

		time.Sleep(59 * time.Second)
		synctest.Wait()
		if r, tb, u := sizes(s); r != 3 || tb != 2 || u != 1 {
			t.Errorf("before the first sweep: %d records, %d tombstones, %d users; want 3, 2, 1", r, tb, u)
		}
		if _, err := s.Get(ctx, deadSoon.Key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get of a tombstone past its time: err = %v, want ErrNotFound", err)
		}

		time.Sleep(time.Second)
		synctest.Wait()
		if r, tb, u := sizes(s); r != 1 || tb != 1 || u != 1 {
			t.Errorf("after the first sweep: %d records, %d tombstones, %d users; want 1, 1, 1", r, tb, u)
		}
		checkIndex(t, s)
		if _, err := s.Get(ctx, long.Key); err != nil {
			t.Errorf("the sweep removed a live record: %v", err)
		}
		if _, err := s.Get(ctx, deadLater.Key); !errors.Is(err, store.ErrGone) {
			t.Errorf("the sweep removed a tombstone still due: err = %v, want ErrGone", err)
		}

		// An hour on, everything has lapsed and the store is empty again.
		time.Sleep(time.Hour)
		synctest.Wait()
		if r, tb, u := sizes(s); r != 0 || tb != 0 || u != 0 {
			t.Errorf("an hour later: %d records, %d tombstones, %d users; want none", r, tb, u)
		}
	})
}

func TestSweepInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{SweepInterval: 5 * time.Second})
		defer closeStore(t, s)
		mustCreate(t, s, record(t, "alice", time.Second))
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if r, _, _ := sizes(s); r != 1 {
			t.Errorf("before the first sweep: %d records, want 1", r)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if r, _, _ := sizes(s); r != 0 {
			t.Errorf("after the first sweep: %d records, want 0", r)
		}
	})
}

// TestCloseStopsSweeper fails (the bubble reports a goroutine still
// blocked) if Close leaves the sweeper running, and checks that Close
// returns only once it has exited.
func TestCloseStopsSweeper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{SweepInterval: time.Second})
		time.Sleep(3 * time.Second) // a few sweeps
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.done:
		default:
			t.Error("Close returned before the sweeper exited")
		}
	})
}

func closeStore(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestSweeperRemovesMarks: a revocation mark refuses the sign-ins that
// began before it for store.MarkTTL, then the sweeper forgets it; a
// sign-in that began before it is refused all the same, for its age.
func TestSweeperRemovesMarks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Options{})
		defer closeStore(t, s)
		ctx := t.Context()
		if _, err := s.RevokeUser(ctx, "alice", "", store.ReasonExpired+3); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		if _, err := s.SignIn(ctx, &store.SignIn{Record: record(t, "alice", time.Hour), Elapsed: 2 * time.Minute}); !errors.Is(err, store.ErrRevokedSince) {
			t.Errorf("a sign-in that began before the mark: %v, want ErrRevokedSince", err)
		}
		time.Sleep(store.MarkTTL)
		synctest.Wait()
		s.mu.RLock()
		marks := len(s.marks)
		s.mu.RUnlock()
		if marks != 0 {
			t.Errorf("%d marks kept past MarkTTL, want 0", marks)
		}
		if _, err := s.SignIn(ctx, &store.SignIn{Record: record(t, "alice", time.Hour), Elapsed: store.MarkTTL}); !errors.Is(err, store.ErrRevokedSince) {
			t.Errorf("a sign-in as old as MarkTTL: %v, want ErrRevokedSince", err)
		}
		if _, err := s.SignIn(ctx, &store.SignIn{Record: record(t, "alice", time.Hour)}); err != nil {
			t.Errorf("a sign-in long after the mark: %v", err)
		}
	})
}
