package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

func (s suite) create(t *testing.T) {
	t.Run("RoundTripsEveryField", func(t *testing.T) {
		st := s.store(t)
		want := newRecord(t, "alice")
		want.Persistent = true
		// Nanoseconds and a non-UTC location: the instant must survive, not
		// the representation.
		want.Created = want.Created.Add(123456789 * time.Nanosecond).In(time.FixedZone("UTC+5", 5*3600))
		rec := want.Clone()
		mustCreate(t, st, rec)
		checkLive(t, st, "Get after Create", rec.Key, want, 1)
	})

	t.Run("RoundTripsRotationLinks", func(t *testing.T) {
		// Successor and Lineage carry a periodic rotation's grace window and
		// its logout; a store that drops them revives or loses sessions.
		st := s.store(t)
		want := newRecord(t, "alice")
		want.Successor, want.Lineage = newKey(t), newKey(t)
		mustCreate(t, st, want.Clone())
		checkLive(t, st, "Get after Create", want.Key, want, 1)
		upd := mustGet(t, st, want.Key)
		upd.Successor = newKey(t)
		if err := st.Update(context.Background(), upd); err != nil {
			t.Fatalf("Update: %v", err)
		}
		want.Successor = upd.Successor
		checkLive(t, st, "Get after Update", want.Key, want, 2)
	})

	t.Run("RoundTripsAnonymous", func(t *testing.T) {
		// Zero times and empty strings must come back zero and empty, not as
		// the Unix epoch or a placeholder: a zero AuthTime means "never
		// signed in" to the Manager.
		st := s.store(t)
		want := newRecord(t, "")
		want.IP, want.UserAgent, want.Data = "", "", nil
		mustCreate(t, st, want.Clone())
		got := mustGet(t, st, want.Key)
		checkRecord(t, "Get after Create", got, want, 1)
		if !got.AuthTime.IsZero() {
			t.Errorf("AuthTime = %v, want the zero time", got.AuthTime)
		}
	})

	t.Run("SetsVersion1", func(t *testing.T) {
		st := s.store(t)
		rec := newRecord(t, "alice")
		rec.Version = 42 // whatever the caller left there, the store decides
		mustCreate(t, st, rec)
		if rec.Version != 1 {
			t.Errorf("after Create, rec.Version = %d, want 1", rec.Version)
		}
		if got := mustGet(t, st, rec.Key); got.Version != 1 {
			t.Errorf("stored Version = %d, want 1", got.Version)
		}
	})

	t.Run("ExistingKeyIsErrExists", func(t *testing.T) {
		st := s.store(t)
		first := newRecord(t, "alice")
		mustCreate(t, st, first.Clone())
		second := newRecord(t, "mallory")
		second.Key = first.Key
		err := st.Create(t.Context(), second)
		checkErr(t, "second Create", err, store.ErrExists)
		if second.Version != 0 {
			t.Errorf("failed Create set rec.Version to %d", second.Version)
		}
		checkLive(t, st, "first record after the failed Create", first.Key, first, 1)
	})

	t.Run("DeletedKeyIsErrExists", func(t *testing.T) {
		// I3/I8: a killed token must never come back, not even through a
		// fresh Create with the same key.
		st := s.store(t)
		rec := newRecord(t, "alice")
		mustCreate(t, st, rec.Clone())
		if err := st.Delete(t.Context(), rec.Key, store.ReasonNone); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		again := newRecord(t, "alice")
		again.Key = rec.Key
		checkErr(t, "Create of a deleted key", st.Create(t.Context(), again), store.ErrExists)
		checkGetErr(t, st, "after the failed Create", rec.Key, store.ErrGone)
	})

	t.Run("RotatedKeyIsErrExists", func(t *testing.T) {
		st := s.store(t)
		old := newRecord(t, "")
		mustCreate(t, st, old)
		if err := st.Rotate(t.Context(), old.Key, 1, newRecord(t, "alice"), time.Time{}); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		again := newRecord(t, "")
		again.Key = old.Key
		checkErr(t, "Create of a rotated-away key", st.Create(t.Context(), again), store.ErrExists)
		checkGetErr(t, st, "after the failed Create", old.Key, store.ErrGone)
	})

	t.Run("KeepsNoReferenceToInput", func(t *testing.T) {
		// Not written in the contract, but the Manager reuses its record
		// (and may reuse its Data buffer) after Create returns.
		st := s.store(t)
		rec := newRecord(t, "alice")
		want := rec.Clone()
		mustCreate(t, st, rec)
		scribbleInput(rec)
		checkLive(t, st, "after the caller changed its record", want.Key, want, 1)
	})
}

// scribble changes every field of rec but Key. It replaces Data rather than
// writing into it, as a caller may do with a record a store returned.
func scribble(rec *store.Record) {
	rec.Version += 100
	rec.UserID = "mallory"
	rec.Created = rec.Created.Add(-time.Hour)
	rec.LastSeen = rec.LastSeen.Add(-time.Hour)
	rec.AuthTime = rec.AuthTime.Add(-time.Hour)
	rec.IdleTimeout *= 2
	rec.Deadline = rec.Deadline.Add(time.Hour)
	rec.Expires = rec.Expires.Add(time.Hour)
	rec.Persistent = !rec.Persistent
	rec.IP = "198.51.100.66"
	rec.UserAgent = "scribbled"
	rec.Data = []byte("scribbled")
}

// scribbleInput changes every field of a record the caller handed to the
// store, writing into its Data too: the buffer is still the caller's.
func scribbleInput(rec *store.Record) {
	for i := range rec.Data {
		rec.Data[i] ^= 0xff
	}
	scribble(rec)
}

func (s suite) get(t *testing.T) {
	t.Run("UnknownIsErrNotFound", func(t *testing.T) {
		st := s.store(t)
		checkGetErr(t, st, "unknown key", newKey(t), store.ErrNotFound)
	})

	t.Run("ReturnsCopy", func(t *testing.T) {
		// Data is excluded: the contract lets stores share it and callers
		// treat it as read-only.
		st := s.store(t)
		want := newRecord(t, "alice")
		mustCreate(t, st, want.Clone())
		scribble(mustGet(t, st, want.Key))
		checkLive(t, st, "after the caller changed a returned record", want.Key, want, 1)
	})
}

func (s suite) update(t *testing.T) {
	t.Run("IncrementsVersion", func(t *testing.T) {
		st := s.store(t)
		rec := newRecord(t, "alice")
		mustCreate(t, st, rec)
		for want := uint64(2); want <= 3; want++ {
			rec.Data = append(rec.Data[:len(rec.Data):len(rec.Data)], byte(want))
			rec.LastSeen = rec.LastSeen.Add(time.Second)
			rec.Expires = rec.LastSeen.Add(rec.IdleTimeout)
			rec.IP = "192.0.2.1"
			mustUpdate(t, st, rec)
			if rec.Version != want {
				t.Errorf("after Update, rec.Version = %d, want %d", rec.Version, want)
			}
			checkLive(t, st, "Get after Update", rec.Key, rec, want)
		}
	})

	t.Run("StaleVersionIsErrConflict", func(t *testing.T) {
		st := s.store(t)
		rec := newRecord(t, "alice")
		mustCreate(t, st, rec)
		stale := rec.Clone()
		mustUpdate(t, st, rec) // now at version 2
		want := rec.Clone()
		stale.Data = []byte("lost update")
		err := st.Update(t.Context(), stale)
		checkErr(t, "Update at version 1", err, store.ErrConflict)
		if stale.Version != 1 {
			t.Errorf("failed Update changed rec.Version to %d", stale.Version)
		}
		checkLive(t, st, "after the failed Update", rec.Key, want, 2)
	})

	t.Run("FutureVersionIsErrConflict", func(t *testing.T) {
		st := s.store(t)
		rec := newRecord(t, "alice")
		mustCreate(t, st, rec)
		want := rec.Clone()
		ahead := rec.Clone()
		ahead.Version = 7
		ahead.UserID = "mallory"
		checkErr(t, "Update at version 7", st.Update(t.Context(), ahead), store.ErrConflict)
		checkLive(t, st, "after the failed Update", rec.Key, want, 1)
	})

	t.Run("MissingIsErrNotFoundAndCreatesNothing", func(t *testing.T) {
		st := s.store(t)
		rec := newRecord(t, "alice")
		for _, v := range []uint64{0, 1} {
			rec.Version = v
			checkErr(t, "Update of an unknown key", st.Update(t.Context(), rec), store.ErrNotFound)
		}
		checkGetErr(t, st, "after the failed Updates", rec.Key, store.ErrNotFound)
		checkListed(t, st, "after the failed Updates", "alice")
	})

	t.Run("DeletedIsErrGone", func(t *testing.T) {
		st := s.store(t)
		rec := newRecord(t, "alice")
		mustCreate(t, st, rec)
		if err := st.Delete(t.Context(), rec.Key, store.ReasonNone); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		checkErr(t, "Update after Delete", st.Update(t.Context(), rec), store.ErrGone)
		checkGetErr(t, st, "after the failed Update", rec.Key, store.ErrGone)
		checkListed(t, st, "after the failed Update", "alice")
	})

	t.Run("RotatedAwayIsErrGone", func(t *testing.T) {
		st := s.store(t)
		rec := newRecord(t, "alice")
		mustCreate(t, st, rec)
		next := newRecord(t, "alice")
		if err := st.Rotate(t.Context(), rec.Key, rec.Version, next, time.Time{}); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		rec.Data = []byte("written through the old token")
		checkErr(t, "Update of the old key", st.Update(t.Context(), rec), store.ErrGone)
		checkGetErr(t, st, "after the failed Update", rec.Key, store.ErrGone)
		checkListed(t, st, "after the failed Update", "alice", next.Key)
	})

	t.Run("KeepsNoReferenceToInput", func(t *testing.T) {
		st := s.store(t)
		rec := newRecord(t, "alice")
		mustCreate(t, st, rec)
		rec.Data = []byte("second write")
		mustUpdate(t, st, rec)
		want := rec.Clone()
		scribbleInput(rec)
		checkLive(t, st, "after the caller changed its record", want.Key, want, 2)
	})
}

func (s suite) delete(t *testing.T) {
	t.Run("LeavesTombstone", func(t *testing.T) {
		// The tombstone must hold until the record's Expires (an hour away
		// here), so ErrNotFound would be wrong.
		st := s.store(t)
		rec := newRecord(t, "alice")
		mustCreate(t, st, rec)
		if err := st.Delete(t.Context(), rec.Key, store.ReasonNone); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		checkGetErr(t, st, "after Delete", rec.Key, store.ErrGone)
		checkListed(t, st, "after Delete", "alice")
	})

	t.Run("ThenRotateIsErrGone", func(t *testing.T) {
		st := s.store(t)
		rec := newRecord(t, "alice")
		mustCreate(t, st, rec)
		if err := st.Delete(t.Context(), rec.Key, store.ReasonNone); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		next := newRecord(t, "alice")
		checkErr(t, "Rotate after Delete", st.Rotate(t.Context(), rec.Key, rec.Version, next, time.Time{}), store.ErrGone)
		checkGetErr(t, st, "Rotate's next after the failed Rotate", next.Key, store.ErrNotFound)
	})

	t.Run("MissingIsNil", func(t *testing.T) {
		// A store may or may not tombstone a key it never held; either way
		// the key must not come alive.
		st := s.store(t)
		key := newKey(t)
		if err := st.Delete(t.Context(), key, store.ReasonNone); err != nil {
			t.Errorf("Delete of an unknown key: %v, want nil", err)
		}
		checkGetErr(t, st, "after Delete of an unknown key", key, store.ErrNotFound, store.ErrGone)
	})

	t.Run("TwiceIsNil", func(t *testing.T) {
		st := s.store(t)
		rec := newRecord(t, "alice")
		mustCreate(t, st, rec)
		for i := range 2 {
			if err := st.Delete(t.Context(), rec.Key, store.ReasonNone); err != nil {
				t.Errorf("Delete #%d: %v, want nil", i+1, err)
			}
		}
		checkGetErr(t, st, "after two Deletes", rec.Key, store.ErrGone)
	})

	t.Run("RotatedAwayIsNil", func(t *testing.T) {
		st := s.store(t)
		rec := newRecord(t, "alice")
		mustCreate(t, st, rec)
		next := newRecord(t, "alice")
		if err := st.Rotate(t.Context(), rec.Key, 1, next, time.Time{}); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		if err := st.Delete(t.Context(), rec.Key, store.ReasonNone); err != nil {
			t.Errorf("Delete of the rotated-away key: %v, want nil", err)
		}
		checkGetErr(t, st, "old key", rec.Key, store.ErrGone)
		checkLive(t, st, "Delete of the old key must not touch the new one", next.Key, next, 1)
	})
}
