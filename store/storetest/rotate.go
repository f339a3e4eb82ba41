package storetest

import (
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// rotate checks renewal, the step invariant I3 rests on: after it the old
// key is dead for every operation and the new one is live at version 1.
func (s suite) rotate(t *testing.T) {
	// rotated returns a store in which old (anonymous) was rotated to next
	// (signed in as alice), the shape of a login.
	rotated := func(t *testing.T) (st store.Store, old, next *store.Record) {
		t.Helper()
		st = s.store(t)
		old = newRecord(t, "")
		mustCreate(t, st, old)
		mustUpdate(t, st, old) // version 2, so a store ignoring oldVersion shows
		next = newRecord(t, "alice")
		next.Version = 42
		if err := st.Rotate(t.Context(), old.Key, 2, next, time.Time{}); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		return st, old, next
	}

	t.Run("CreatesNextAtVersion1", func(t *testing.T) {
		st, _, next := rotated(t)
		if next.Version != 1 {
			t.Errorf("after Rotate, next.Version = %d, want 1", next.Version)
		}
		checkLive(t, st, "next after Rotate", next.Key, next, 1)
		checkListed(t, st, "after Rotate", "alice", next.Key)
	})

	t.Run("OldGetIsErrGone", func(t *testing.T) {
		// The old record expires in an hour, so its tombstone must still be
		// held: ErrNotFound is not good enough.
		st, old, _ := rotated(t)
		checkGetErr(t, st, "old key after Rotate", old.Key, store.ErrGone)
	})

	t.Run("OldUpdateIsErrGone", func(t *testing.T) {
		st, old, next := rotated(t)
		old.Data = []byte("written through the old token")
		checkErr(t, "Update of the old key", st.Update(t.Context(), old), store.ErrGone)
		checkGetErr(t, st, "old key after the failed Update", old.Key, store.ErrGone)
		checkLive(t, st, "next after the failed Update", next.Key, next, 1)
	})

	t.Run("OldRotateIsErrGoneAndCreatesNothing", func(t *testing.T) {
		st, old, next := rotated(t)
		again := newRecord(t, "alice")
		checkErr(t, "second Rotate of the old key", st.Rotate(t.Context(), old.Key, 2, again, time.Time{}), store.ErrGone)
		checkGetErr(t, st, "second Rotate's next", again.Key, store.ErrNotFound)
		checkListed(t, st, "after the failed Rotate", "alice", next.Key)
	})

	t.Run("OldCreateIsErrExists", func(t *testing.T) {
		st, old, _ := rotated(t)
		again := newRecord(t, "")
		again.Key = old.Key
		checkErr(t, "Create of the old key", st.Create(t.Context(), again), store.ErrExists)
	})

	t.Run("StaleVersionIsErrConflictAndChangesNothing", func(t *testing.T) {
		// A store that cannot rotate atomically must check the version
		// before it tombstones, or a lost race would kill a live session.
		st := s.store(t)
		old := newRecord(t, "alice")
		mustCreate(t, st, old)
		mustUpdate(t, st, old)
		want := old.Clone()
		for _, v := range []uint64{1, 3} {
			next := newRecord(t, "alice")
			checkErr(t, "Rotate at a wrong version", st.Rotate(t.Context(), old.Key, v, next, time.Time{}), store.ErrConflict)
			if next.Version != 0 {
				t.Errorf("failed Rotate set next.Version to %d", next.Version)
			}
			checkGetErr(t, st, "next after the failed Rotate", next.Key, store.ErrNotFound)
		}
		checkLive(t, st, "old after the failed Rotates", old.Key, want, 2)
		checkListed(t, st, "after the failed Rotates", "alice", old.Key)
	})

	t.Run("MissingIsErrNotFoundAndCreatesNothing", func(t *testing.T) {
		st := s.store(t)
		next := newRecord(t, "alice")
		checkErr(t, "Rotate of an unknown key", st.Rotate(t.Context(), newKey(t), 1, next, time.Time{}), store.ErrNotFound)
		checkGetErr(t, st, "next after the failed Rotate", next.Key, store.ErrNotFound)
		checkListed(t, st, "after the failed Rotate", "alice")
	})

	t.Run("DeletedIsErrGoneAndCreatesNothing", func(t *testing.T) {
		st := s.store(t)
		old := newRecord(t, "alice")
		mustCreate(t, st, old)
		if err := st.Delete(t.Context(), old.Key, store.ReasonNone); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		next := newRecord(t, "alice")
		checkErr(t, "Rotate of a deleted key", st.Rotate(t.Context(), old.Key, 1, next, time.Time{}), store.ErrGone)
		checkGetErr(t, st, "next after the failed Rotate", next.Key, store.ErrNotFound)
		checkListed(t, st, "after the failed Rotate", "alice")
	})

	t.Run("NextKeyTakenIsErrExists", func(t *testing.T) {
		// The contract does not say; Rotate creates next, so it fails as
		// Create would, and must never overwrite the record holding the key.
		// Whether old survives is left open: a store that cannot rotate
		// atomically tombstones it first.
		st := s.store(t)
		old := newRecord(t, "")
		mustCreate(t, st, old)
		holder := newRecord(t, "bob")
		mustCreate(t, st, holder)
		want := holder.Clone()
		next := newRecord(t, "mallory")
		next.Key = holder.Key
		checkErr(t, "Rotate onto a live key", st.Rotate(t.Context(), old.Key, 1, next, time.Time{}), store.ErrExists)
		checkLive(t, st, "the record holding next's key", holder.Key, want, 1)
		checkListed(t, st, "after the failed Rotate", "mallory")
	})

	t.Run("NextKeyTombstonedIsErrExists", func(t *testing.T) {
		st := s.store(t)
		dead := newRecord(t, "bob")
		mustCreate(t, st, dead)
		if err := st.Delete(t.Context(), dead.Key, store.ReasonNone); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		old := newRecord(t, "")
		mustCreate(t, st, old)
		next := newRecord(t, "bob")
		next.Key = dead.Key
		checkErr(t, "Rotate onto a tombstoned key", st.Rotate(t.Context(), old.Key, 1, next, time.Time{}), store.ErrExists)
		checkGetErr(t, st, "the tombstoned key", dead.Key, store.ErrGone)
		checkListed(t, st, "after the failed Rotate", "bob")
	})

	t.Run("OntoItselfFails", func(t *testing.T) {
		// Renewing to the same key would keep the token an attacker may
		// hold (I3). Whatever the error, the key must not end up live with
		// next's contents.
		st := s.store(t)
		old := newRecord(t, "")
		mustCreate(t, st, old)
		next := newRecord(t, "alice")
		next.Key = old.Key
		if err := st.Rotate(t.Context(), old.Key, 1, next, time.Time{}); err == nil {
			t.Fatal("Rotate onto its own key succeeded")
		}
		checkListed(t, st, "after the failed Rotate", "alice")
		if got, err := st.Get(t.Context(), old.Key); err == nil && got.UserID == "alice" {
			t.Error("the old key now holds next's record")
		}
	})
}
