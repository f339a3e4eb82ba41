package boltstore

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// A group is what one commit ran: its size and whether its writes were
// run again one by one.
type group struct {
	n       int
	retried bool
}

// holdWrites starts a write that blocks, inside its transaction, until
// release is called, so that the writes started meanwhile queue behind it
// and are committed together. groups receives what each commit ran.
func holdWrites(t *testing.T, s *Store) (groups func() []group, waitQueued func(n int), release func()) {
	t.Helper()
	var mu sync.Mutex
	var seen []group
	s.groupHook = func(n int, retried bool) {
		mu.Lock()
		seen = append(seen, group{n, retried})
		mu.Unlock()
	}
	started, gate, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.update(t.Context(), func(*txn) error {
			close(started)
			<-gate
			return errNoChange
		})
	}()
	<-started
	groups = func() []group {
		mu.Lock()
		defer mu.Unlock()
		return append([]group(nil), seen...)
	}
	waitQueued = func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			s.w.mu.Lock()
			got := len(s.w.pending)
			s.w.mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d writes queued, want %d", got, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	release = func() {
		close(gate)
		if err := <-done; !errors.Is(err, errNoChange) {
			t.Errorf("held write: %v", err)
		}
	}
	return groups, waitQueued, release
}

// TestGroupCommit checks that writes made while a commit is under way
// share the next transaction, and that each is on disk when it returns.
func TestGroupCommit(t *testing.T) {
	path := tempPath(t)
	s := openAt(t, path, Options{SweepInterval: -1})
	groups, waitQueued, release := holdWrites(t, s)
	const n = 31
	now := time.Now()
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- s.Create(t.Context(), testRecord(fmt.Sprint("g", i), "alice", now, time.Hour)) }()
	}
	waitQueued(n)
	release()
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	// The held write was a group of its own; the 31 Creates another.
	if g := groups(); len(g) != 2 || g[1] != (group{n, false}) {
		t.Fatalf("groups %+v, want [{1 false} {%d false}]", g, n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openAt(t, path, Options{SweepInterval: -1})
	recs, err := s2.ListUser(t.Context(), "alice")
	if err != nil || len(recs) != n {
		t.Fatalf("after reopening: %d records, %v; want %d", len(recs), err, n)
	}
	checkFile(t, s2.db)
}

// TestGroupConflictIsAResult checks that conditional writes that lose to
// an earlier write of their own group get store.ErrConflict, as they would
// one transaction each, without aborting the group.
func TestGroupConflictIsAResult(t *testing.T) {
	s := openAt(t, tempPath(t), Options{SweepInterval: -1})
	now := time.Now()
	base := testRecord("contended", "alice", now, time.Hour)
	if err := s.Create(t.Context(), base); err != nil {
		t.Fatal(err)
	}
	groups, waitQueued, release := holdWrites(t, s)
	const updates, creates = 10, 10
	type result struct {
		update bool
		err    error
	}
	res := make(chan result, updates+creates)
	for i := range updates {
		go func() {
			rec := base.Clone()
			rec.Data = []byte(fmt.Sprint("writer ", i))
			res <- result{true, s.Update(t.Context(), rec)}
		}()
	}
	for i := range creates {
		go func() {
			res <- result{false, s.Create(t.Context(), testRecord(fmt.Sprint("other", i), "bob", now, time.Hour))}
		}()
	}
	waitQueued(updates + creates)
	release()
	won, lost := 0, 0
	for range updates + creates {
		r := <-res
		switch {
		case r.update && r.err == nil:
			won++
		case r.update && errors.Is(r.err, store.ErrConflict):
			lost++
		case r.err != nil:
			t.Errorf("update %v: %v", r.update, r.err)
		}
	}
	if won != 1 || lost != updates-1 {
		t.Errorf("%d updates won and %d lost, want 1 and %d", won, lost, updates-1)
	}
	if g := groups(); len(g) != 2 || g[1] != (group{updates + creates, false}) {
		t.Errorf("groups %+v, want the %d writes in one group, not retried", g, updates+creates)
	}
	got, err := s.Get(t.Context(), base.Key)
	if err != nil || got.Version != 2 {
		t.Fatalf("Get: version %v, %v; want 2", got, err)
	}
	if recs, err := s.ListUser(t.Context(), "bob"); err != nil || len(recs) != creates {
		t.Errorf("bob has %d records, %v; want %d", len(recs), err, creates)
	}
	checkFile(t, s.db)
}

// TestGroupFailureRollsBackAlone checks that a write that fails after a
// partial change is rolled back without taking the rest of its group with
// it: the group runs again one write per transaction.
func TestGroupFailureRollsBackAlone(t *testing.T) {
	s := openAt(t, tempPath(t), Options{SweepInterval: -1})
	now := time.Now()
	groups, waitQueued, release := holdWrites(t, s)
	errBroken := errors.New("broken half-way")
	half := testRecord("half", "alice", now, time.Hour)
	errs := make(chan error, 3)
	go func() { errs <- s.Create(t.Context(), testRecord("before", "alice", now, time.Hour)) }()
	waitQueued(1)
	go func() {
		err := s.update(t.Context(), func(x *txn) error {
			if err := x.putRecord(half, nil); err != nil {
				return err
			}
			return errBroken
		})
		if !errors.Is(err, errBroken) {
			err = fmt.Errorf("the failing write answered %v", err)
		} else {
			err = nil
		}
		errs <- err
	}()
	waitQueued(2)
	go func() { errs <- s.Create(t.Context(), testRecord("after", "alice", now, time.Hour)) }()
	waitQueued(3)
	release()
	for range 3 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if g := groups(); len(g) != 2 || g[1] != (group{3, true}) {
		t.Errorf("groups %+v, want the 3 writes in one group, retried", g)
	}
	for _, name := range []string{"before", "after"} {
		if _, err := s.Get(t.Context(), testKey(name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.Get(t.Context(), half.Key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the failed write's record: %v, want ErrNotFound", err)
	}
	checkFile(t, s.db)
}
