package storetest

import (
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// listUser checks the per-user index behind "your active sessions" and
// "sign out everywhere else": a record missing from it escapes revocation,
// a record wrongly in it leaks another user's session metadata.
func (s suite) listUser(t *testing.T) {
	t.Run("OnlyThatUsersLiveRecords", func(t *testing.T) {
		st := s.store(t)
		var alice []*store.Record
		for range 3 {
			rec := newRecord(t, "alice")
			mustCreate(t, st, rec)
			alice = append(alice, rec)
		}
		for _, user := range []string{"bob", "bob", "alicia", "Alice", ""} {
			mustCreate(t, st, newRecord(t, user))
		}
		recs, err := st.ListUser(t.Context(), "alice")
		if err != nil {
			t.Fatalf("ListUser: %v", err)
		}
		if len(recs) != len(alice) {
			t.Errorf("ListUser(alice) returned %d records, want %d", len(recs), len(alice))
		}
		byKey := make(map[string]*store.Record)
		for _, r := range recs {
			if r == nil {
				t.Fatal("ListUser returned a nil record")
			}
			if byKey[r.Key] != nil {
				t.Errorf("ListUser returned %s… twice", r.Key[:8])
			}
			byKey[r.Key] = r
		}
		for _, want := range alice {
			got := byKey[want.Key]
			if got == nil {
				t.Errorf("ListUser(alice) is missing %s…", want.Key[:8])
				continue
			}
			checkRecord(t, "listed record", got, want, 1)
		}
	})

	t.Run("UnknownUserIsEmpty", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, newRecord(t, "alice"))
		checkListed(t, st, "unknown user", "nobody")
	})

	t.Run("NeverListsAnonymous", func(t *testing.T) {
		// The contract reads "records whose UserID is userID", which would
		// include "" — but anonymous sessions belong to no user, and
		// listing every visitor is the full scan the index exists to avoid.
		st := s.store(t)
		for range 3 {
			mustCreate(t, st, newRecord(t, ""))
		}
		checkListed(t, st, "anonymous", "")
	})

	t.Run("ExcludesDeleted", func(t *testing.T) {
		st := s.store(t)
		keep, gone := newRecord(t, "alice"), newRecord(t, "alice")
		mustCreate(t, st, keep)
		mustCreate(t, st, gone)
		if err := st.Delete(t.Context(), gone.Key, store.ReasonNone); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		checkListed(t, st, "after Delete", "alice", keep.Key)
	})

	t.Run("FollowsRotation", func(t *testing.T) {
		// A privilege change renews alice's session: the old record leaves
		// her list and the new one joins it.
		st := s.store(t)
		other, old := newRecord(t, "alice"), newRecord(t, "alice")
		mustCreate(t, st, other)
		mustCreate(t, st, old)
		next := newRecord(t, "alice")
		if err := st.Rotate(t.Context(), old.Key, 1, next, time.Time{}); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		checkListed(t, st, "after Rotate", "alice", other.Key, next.Key)
	})

	t.Run("IncludesRotatedToAfterLogin", func(t *testing.T) {
		st := s.store(t)
		anon := newRecord(t, "")
		mustCreate(t, st, anon)
		next := newRecord(t, "alice")
		if err := st.Rotate(t.Context(), anon.Key, 1, next, time.Time{}); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		checkListed(t, st, "after login", "alice", next.Key)
		checkListed(t, st, "after login", "")
	})

	t.Run("ExcludesRotatedAwayAtLogout", func(t *testing.T) {
		st := s.store(t)
		old := newRecord(t, "alice")
		mustCreate(t, st, old)
		if err := st.Rotate(t.Context(), old.Key, 1, newRecord(t, ""), time.Time{}); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		checkListed(t, st, "after logout", "alice")
	})

	t.Run("FollowsUserChangeByUpdate", func(t *testing.T) {
		// The Manager renews on every change of user (I3), so this should
		// not happen through it; but ListUser answers by the current
		// UserID, so a store must move the record between lists, not leave
		// a stale entry that would list (or later revoke) it under the old
		// user.
		st := s.store(t)
		rec := newRecord(t, "alice")
		mustCreate(t, st, rec)
		rec.UserID = "bob"
		mustUpdate(t, st, rec)
		checkListed(t, st, "after alice→bob", "alice")
		checkListed(t, st, "after alice→bob", "bob", rec.Key)
		rec.UserID = ""
		mustUpdate(t, st, rec)
		checkListed(t, st, "after bob→anonymous", "bob")
		checkListed(t, st, "after bob→anonymous", "")
		rec.UserID = "alice"
		mustUpdate(t, st, rec)
		checkListed(t, st, "after anonymous→alice", "alice", rec.Key)
	})

	t.Run("ReturnsCopies", func(t *testing.T) {
		st := s.store(t)
		want := newRecord(t, "alice")
		mustCreate(t, st, want.Clone())
		recs, err := st.ListUser(t.Context(), "alice")
		if err != nil {
			t.Fatalf("ListUser: %v", err)
		}
		for _, r := range recs {
			scribble(r)
		}
		checkLive(t, st, "after the caller changed listed records", want.Key, want, 1)
		checkListed(t, st, "after the caller changed listed records", "alice", want.Key)
	})
}
