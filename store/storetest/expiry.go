package storetest

import (
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// shortTTL is how long the short-lived records of the expiry cases live:
// long enough for a networked store to finish the setup, short enough to
// keep the suite fast.
const shortTTL = 200 * time.Millisecond

// expiry checks invariant I5 at the store: a record past its Expires is
// dead for every operation at once, whether or not the store has removed
// it yet, and a tombstone lasts as long as the record would have.
//
// The cases share one store and one wait: the records are set up, the
// group sleeps until the short-lived ones are past their Expires by the
// local clock, and each subtest then checks one operation. The contract
// says "never returned", so there is no polling and no grace period.
func (s suite) expiry(t *testing.T) {
	st := s.store(t)
	user := "expiring-" + newKey(t)[:8]
	var latest time.Time
	short := func(userID string) *store.Record {
		rec := expireIn(newRecord(t, userID), shortTTL)
		mustCreate(t, st, rec)
		if rec.Expires.After(latest) {
			latest = rec.Expires
		}
		return rec
	}

	read := short(user)
	// The record must be seen live first, or the checks after the wait
	// prove nothing; a store too slow for that fails rather than passing
	// vacuously.
	checkLive(t, st, "before expiry", read.Key, read, 1)
	checkListed(t, st, "before expiry", user, read.Key)
	if !time.Now().Before(read.Expires) {
		t.Fatalf("creating and reading one record took over %v; the expiry cases cannot run", shortTTL)
	}
	keep := newRecord(t, user)
	mustCreate(t, st, keep)
	update, rotate, del, create := short(""), short(""), short(user), short("")
	rotateNext := newRecord(t, "")

	// Touched records: an Update moves Expires an hour on, so the record
	// (and, once deleted, its tombstone) outlives the original expiry. A
	// store with TTLs must move the TTL with it.
	extended := short(user)
	expireIn(extended, time.Hour)
	mustUpdate(t, st, extended)
	buried := short("")
	expireIn(buried, time.Hour)
	mustUpdate(t, st, buried)
	if err := st.Delete(t.Context(), buried.Key, store.ReasonNone); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	lapsed := short("")
	if err := st.Delete(t.Context(), lapsed.Key, store.ReasonNone); err != nil {
		t.Fatalf("Delete: %v", err)
	}

	if setup := time.Until(latest); setup < shortTTL/4 {
		t.Logf("setup left only %v before expiry; the store is slow", setup)
	}
	time.Sleep(time.Until(latest) + 10*time.Millisecond)

	t.Run("GetIsNotFoundOrExpired", func(t *testing.T) {
		checkGetErr(t, st, "expired record", read.Key, errExpired)
	})

	t.Run("ListUserExcludes", func(t *testing.T) {
		checkListed(t, st, "after expiry", user, keep.Key, extended.Key)
	})

	t.Run("UpdateIsNotFoundOrExpired", func(t *testing.T) {
		expireIn(update, time.Hour) // even a write that would revive it
		checkErr(t, "Update of an expired record", st.Update(t.Context(), update), errExpired)
		checkGetErr(t, st, "after the failed Update", update.Key, errExpired)
	})

	t.Run("RotateIsNotFoundOrExpiredAndCreatesNothing", func(t *testing.T) {
		err := st.Rotate(t.Context(), rotate.Key, 1, rotateNext, time.Time{})
		checkErr(t, "Rotate of an expired record", err, errExpired)
		checkGetErr(t, st, "next after the failed Rotate", rotateNext.Key, store.ErrNotFound)
	})

	t.Run("DeleteIsNil", func(t *testing.T) {
		if err := st.Delete(t.Context(), del.Key, store.ReasonNone); err != nil {
			t.Errorf("Delete of an expired record: %v, want nil", err)
		}
		checkGetErr(t, st, "after Delete", del.Key, store.ErrNotFound, store.ErrGone)
		checkListed(t, st, "after Delete", user, keep.Key, extended.Key)
	})

	t.Run("CreateOverExpiredSucceeds", func(t *testing.T) {
		// An expired record is neither live nor a tombstone, so it does not
		// hold its key.
		rec := newRecord(t, "")
		rec.Key = create.Key
		if err := st.Create(t.Context(), rec); err != nil {
			t.Fatalf("Create over an expired record: %v", err)
		}
		checkLive(t, st, "the new record", rec.Key, rec, 1)
	})

	t.Run("UpdateExtendsLife", func(t *testing.T) {
		checkLive(t, st, "record whose Expires was moved on", extended.Key, extended, 2)
	})

	t.Run("TombstoneLastsUntilCurrentExpires", func(t *testing.T) {
		checkGetErr(t, st, "record deleted after its Expires was moved on", buried.Key, store.ErrGone)
		again := newRecord(t, "")
		again.Key = buried.Key
		checkErr(t, "Create over the tombstone", st.Create(t.Context(), again), store.ErrExists)
	})

	t.Run("LapsedTombstoneNeverRevives", func(t *testing.T) {
		// Past the dead record's Expires the store may forget the
		// tombstone, but must not hand back the record.
		checkGetErr(t, st, "record deleted and then past its Expires", lapsed.Key,
			store.ErrGone, store.ErrNotFound)
		checkErr(t, "Update", st.Update(t.Context(), lapsed), store.ErrGone, store.ErrNotFound)
	})

	t.Run("CreatedAlreadyExpired", func(t *testing.T) {
		// Whether Create accepts a record that is already past its Expires
		// is not specified; that the record is never returned is.
		rec := newRecord(t, user)
		rec.LastSeen = time.Now().Add(-2 * time.Hour)
		rec.Expires = rec.LastSeen.Add(rec.IdleTimeout)
		if err := st.Create(t.Context(), rec); err != nil {
			t.Logf("Create of an expired record: %v (allowed)", err)
		}
		checkGetErr(t, st, "record created past its Expires", rec.Key, errExpired)
		checkListed(t, st, "record created past its Expires", user, keep.Key, extended.Key)
	})
}
