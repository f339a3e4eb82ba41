package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// Reasons the sign-in cases use: above store.ReasonExpired, as the session
// layer's are.
const (
	reasonRevoked store.Reason = store.ReasonExpired + 5
	reasonLimit   store.Reason = store.ReasonExpired + 7
)

// pastMargin waits until a write made now is more than store.SignInMargin
// in the past of a sign-in with Elapsed 0.
func pastMargin() { time.Sleep(store.SignInMargin + 150*time.Millisecond) }

// signIn makes a sign-in of rec with Elapsed elapsed and no bound, replacing
// old when it is not nil.
func signIn(rec, old *store.Record, elapsed time.Duration) *store.SignIn {
	in := &store.SignIn{Record: rec, Elapsed: elapsed}
	if old != nil {
		in.OldKey, in.OldVersion = old.Key, old.Version
	}
	return in
}

// mustSignIn signs in or stops the test.
func mustSignIn(t *testing.T, st store.Store, in *store.SignIn) store.SignedIn {
	t.Helper()
	out, err := st.SignIn(t.Context(), in)
	if err != nil {
		t.Fatalf("SignIn(%s…): %v", in.Record.Key[:8], err)
	}
	return out
}

// checkSessions fails t unless a store's count is at least want (or
// unknown), and exact when exact is set.
func checkSessions(t *testing.T, what string, out store.SignedIn, want int) {
	t.Helper()
	if out.Sessions != store.UnknownCount && out.Sessions < want {
		t.Errorf("%s: Sessions = %d, want at least %d (or store.UnknownCount)", what, out.Sessions, want)
	}
}

// checkRevokedSince fails t unless err is a *store.RevokedSinceError with
// reason.
func checkRevokedSince(t *testing.T, what string, err error, reason store.Reason) {
	t.Helper()
	var rs *store.RevokedSinceError
	if !errors.As(err, &rs) || !errors.Is(err, store.ErrRevokedSince) {
		t.Errorf("%s: err = %v, want a *store.RevokedSinceError", what, err)
		return
	}
	if rs.Reason != reason {
		t.Errorf("%s: reason %d, want %d", what, rs.Reason, reason)
	}
}

// signIn checks the write of SignIn itself: it creates as Create, replaces
// as Rotate, and fails as they do, writing nothing.
func (s suite) signIn(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, st store.Store)
	}{
		{"CreatesWithoutOld", func(t *testing.T, st store.Store) {
			rec := newRecord(t, "alice")
			want := rec.Clone()
			out := mustSignIn(t, st, signIn(rec, nil, time.Second))
			if rec.Version != 1 {
				t.Errorf("Version = %d, want 1", rec.Version)
			}
			checkSessions(t, "first sign-in", out, 1)
			if out.Ended != nil {
				t.Errorf("Ended = %v, want nil", out.Ended)
			}
			checkLive(t, st, "signed-in record", rec.Key, want, 1)
			checkListed(t, st, "after SignIn", "alice", rec.Key)
		}},
		{"ReplacesOld", func(t *testing.T, st store.Store) {
			anon := newRecord(t, "")
			mustCreate(t, st, anon)
			rec := newRecord(t, "alice")
			want := rec.Clone()
			mustSignIn(t, st, signIn(rec, anon, time.Second))
			checkReason(t, st, "the replaced record", anon.Key, store.ReasonRenewed)
			checkLive(t, st, "signed-in record", rec.Key, want, 1)
			// A second sign-in from the first, as a user switch would do.
			again := newRecord(t, "bob")
			out := mustSignIn(t, st, signIn(again, rec, 0))
			checkSessions(t, "bob's sign-in", out, 1)
			checkReason(t, st, "alice's replaced record", rec.Key, store.ReasonRenewed)
			checkListed(t, st, "alice after the switch", "alice")
			checkListed(t, st, "bob after the switch", "bob", again.Key)
		}},
		{"FailsAsRotateWritingNothing", func(t *testing.T, st store.Store) {
			anon := newRecord(t, "")
			mustCreate(t, st, anon)
			taken := newRecord(t, "carol")
			mustCreate(t, st, taken)
			gone := newRecord(t, "")
			mustCreate(t, st, gone)
			if err := st.Delete(t.Context(), gone.Key, reasonSignedOut); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name    string
				in      *store.SignIn
				targets []error
			}{
				{"stale version", &store.SignIn{Record: newRecord(t, "alice"), OldKey: anon.Key, OldVersion: anon.Version + 1}, []error{store.ErrConflict}},
				{"missing old", &store.SignIn{Record: newRecord(t, "alice"), OldKey: newKey(t), OldVersion: 1}, []error{store.ErrNotFound}},
				{"ended old", &store.SignIn{Record: newRecord(t, "alice"), OldKey: gone.Key, OldVersion: gone.Version}, []error{store.ErrGone}},
				{"taken key", &store.SignIn{Record: taken.Clone()}, []error{store.ErrExists}},
				{"taken key, with old", &store.SignIn{Record: taken.Clone(), OldKey: anon.Key, OldVersion: anon.Version}, []error{store.ErrExists}},
				{"onto the old key", &store.SignIn{Record: withUser(anon.Clone(), "alice"), OldKey: anon.Key, OldVersion: anon.Version}, []error{store.ErrExists}},
			} {
				c.in.Record.Version = 9
				_, err := st.SignIn(t.Context(), c.in)
				checkErr(t, c.name, err, c.targets...)
				if c.in.Record.Version != 9 {
					t.Errorf("%s: a failed SignIn set Version %d", c.name, c.in.Record.Version)
				}
			}
			checkLive(t, st, "the old record after failed sign-ins", anon.Key, anon, 1)
			checkListed(t, st, "alice after failed sign-ins", "alice")
			checkListed(t, st, "carol after failed sign-ins", "carol", taken.Key)
		}},
		{"RefusesAnonymousAndNil", func(t *testing.T, st store.Store) {
			if _, err := st.SignIn(t.Context(), signIn(newRecord(t, ""), nil, 0)); err == nil {
				t.Error("SignIn of an anonymous record succeeded")
			}
			if _, err := st.SignIn(t.Context(), &store.SignIn{}); err == nil {
				t.Error("SignIn of a nil record succeeded")
			}
		}},
		{"KeepsNoReference", func(t *testing.T, st store.Store) {
			rec := newRecord(t, "alice")
			want := rec.Clone()
			mustSignIn(t, st, signIn(rec, nil, 0))
			rec.UserID, rec.Data[0] = "mallory", rec.Data[0]^0xff
			checkLive(t, st, "after the caller changed its record", rec.Key, want, 1)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, s.store(t)) })
	}
}

func withUser(rec *store.Record, user string) *store.Record {
	rec.UserID = user
	return rec
}

// marks checks the revocation marks (invariant I11): once RevokeUser has
// returned, no sign-in whose request began before it can write, by any
// path, and a sign-in that began after it can.
func (s suite) marks(t *testing.T) {
	t.Run("RefusesEveryPathOfAnEarlierRequest", func(t *testing.T) {
		st := s.store(t)
		old := newRecord(t, "alice")
		mustCreate(t, st, old)
		anon := newRecord(t, "")
		mustCreate(t, st, anon)
		began := time.Now() // the sign-ins' requests begin before the revocation
		if _, err := st.RevokeUser(t.Context(), "alice", "", reasonRevoked); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			old  *store.Record
		}{{"no old record", nil}, {"from an anonymous record", anon}} {
			for _, before := range []time.Duration{0, 50 * time.Millisecond, 5 * time.Second} {
				rec := newRecord(t, "alice")
				_, err := st.SignIn(t.Context(), signIn(rec, c.old, time.Since(began)+before))
				what := fmt.Sprintf("%s, request began %v before the revocation", c.name, before)
				checkRevokedSince(t, what, err, reasonRevoked)
				if rec.Version != 0 {
					t.Errorf("%s: a refused SignIn set Version %d", what, rec.Version)
				}
				checkGetErr(t, st, what+": the refused record", rec.Key, store.ErrNotFound)
			}
		}
		checkLive(t, st, "the anonymous record after refused sign-ins", anon.Key, anon, 1)
		checkListed(t, st, "alice after refused sign-ins", "alice")
		// The refusal comes first: an old record at a stale version still
		// gets the revocation's error.
		_, err := st.SignIn(t.Context(), &store.SignIn{Record: newRecord(t, "alice"), OldKey: anon.Key, OldVersion: 7, Elapsed: time.Since(began)})
		checkRevokedSince(t, "refused sign-in with a stale old record", err, reasonRevoked)
		// Another user is not concerned.
		mustSignIn(t, st, signIn(newRecord(t, "bob"), nil, 5*time.Second))
	})
	t.Run("RequestStartOnTheStoreClock", func(t *testing.T) {
		st := s.store(t)
		began := time.Now()
		if _, err := st.RevokeUser(t.Context(), "alice", "", reasonRevoked); err != nil {
			t.Fatal(err)
		}
		pastMargin()
		// A request that began just now, after the revocation: it stands.
		mustSignIn(t, st, signIn(newRecord(t, "alice"), nil, 0))
		// One whose request began before the revocation: refused, whatever
		// the time it reaches the store.
		_, err := st.SignIn(t.Context(), signIn(newRecord(t, "alice"), nil, time.Since(began)))
		checkRevokedSince(t, "a request that began before the revocation", err, reasonRevoked)
		// One that began just after the revocation, within SignInMargin:
		// refused too. Tried again if this machine was too slow to tell.
		for try := 0; ; try++ {
			revoked := time.Now()
			if _, err := st.RevokeUser(t.Context(), "alice", "", reasonRevoked+1); err != nil {
				t.Fatal(err)
			}
			_, err = st.SignIn(t.Context(), signIn(newRecord(t, "alice"), nil, 0))
			if time.Since(revoked) < store.SignInMargin/2 {
				// The latest revocation's reason is told.
				checkRevokedSince(t, "within SignInMargin of the revocation", err, reasonRevoked+1)
				break
			}
			if try == 5 {
				t.Fatalf("a revocation and a sign-in took over %v, five times", store.SignInMargin/2)
			}
		}
	})
	t.Run("TooOldRequestRefused", func(t *testing.T) {
		st := s.store(t)
		for _, elapsed := range []time.Duration{store.MarkTTL, store.MarkTTL - store.SignInMargin, 48 * time.Hour} {
			_, err := st.SignIn(t.Context(), signIn(newRecord(t, "alice"), nil, elapsed))
			checkRevokedSince(t, fmt.Sprintf("a request %v old", elapsed), err, store.ReasonNone)
		}
		mustSignIn(t, st, signIn(newRecord(t, "alice"), nil, store.MarkTTL-store.SignInMargin-time.Minute))
		mustSignIn(t, st, signIn(newRecord(t, "alice"), nil, -time.Hour))
	})
	t.Run("OnlyRevokeUserMarks", func(t *testing.T) {
		st := s.store(t)
		a, b := newRecord(t, "alice"), newRecord(t, "alice")
		mustCreate(t, st, a)
		mustCreate(t, st, b)
		if _, err := st.RevokeLineage(t.Context(), "alice", a.Key, reasonRevoked); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(t.Context(), b.Key, reasonRevoked); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RevokeUser(t.Context(), "", "", reasonRevoked); err != nil {
			t.Fatal(err)
		}
		mustSignIn(t, st, signIn(newRecord(t, "alice"), nil, 5*time.Second))
		// Keeping a lineage still marks.
		kept := newRecord(t, "alice")
		mustCreate(t, st, kept)
		began := time.Now()
		if _, err := st.RevokeUser(t.Context(), "alice", kept.Key, reasonRevoked); err != nil {
			t.Fatal(err)
		}
		_, err := st.SignIn(t.Context(), signIn(newRecord(t, "alice"), nil, time.Since(began)))
		checkRevokedSince(t, "after RevokeUser keeping a lineage", err, reasonRevoked)
		mustGet(t, st, kept.Key)
	})
	t.Run("MarksGrow", func(t *testing.T) {
		st := s.store(t)
		var prev store.Revocation
		for i := range 5 {
			rev, err := st.RevokeUser(t.Context(), "alice", "", reasonRevoked)
			if err != nil {
				t.Fatal(err)
			}
			if rev.Mark.IsZero() || !rev.Prior.Equal(prev.Mark) || !rev.Mark.After(prev.Mark) {
				t.Errorf("revocation %d: mark %v, prior %v; want a mark after %v, which is the prior", i, rev.Mark, rev.Prior, prev.Mark)
			}
			if d := time.Since(rev.Mark); d < -time.Minute || d > time.Minute {
				t.Errorf("revocation %d: mark %v is %v from the test's clock", i, rev.Mark, d)
			}
			prev = rev
		}
	})
	t.Run("OwnRevocation", func(t *testing.T) {
		st := s.store(t)
		other := newRecord(t, "alice")
		mustCreate(t, st, other)
		began := time.Now() // the requests below begin before every revocation
		own, err := st.RevokeUser(t.Context(), "alice", "", reasonRevoked)
		if err != nil {
			t.Fatal(err)
		}
		// The request's own revocation does not refuse it.
		in := signIn(newRecord(t, "alice"), nil, 5*time.Second)
		in.Own = &own
		mustSignIn(t, st, in)
		// A later revocation by anyone else does.
		later, err := st.RevokeUser(t.Context(), "alice", "", reasonRevoked+1)
		if err != nil {
			t.Fatal(err)
		}
		in = signIn(newRecord(t, "alice"), nil, time.Since(began))
		in.Own = &own
		_, err = st.SignIn(t.Context(), in)
		checkRevokedSince(t, "own mark overtaken by another revocation", err, reasonRevoked+1)
		// And so does an earlier one that came after the request began: the
		// own revocation's Prior.
		in = signIn(newRecord(t, "alice"), nil, time.Since(began))
		in.Own = &later
		_, err = st.SignIn(t.Context(), in)
		if !errors.Is(err, store.ErrRevokedSince) {
			t.Errorf("a revocation before the request's own, after it began: err = %v, want ErrRevokedSince", err)
		}
		pastMargin()
		in = signIn(newRecord(t, "alice"), nil, 0)
		in.Own = &later
		mustSignIn(t, st, in)
	})
}

// bound checks the bound on a user's sessions kept by SignIn (Limit):
// least recently used lineages end first, never the new one nor one newer
// than the sign-in, and two sign-ins at once never end each other.
func (s suite) bound(t *testing.T) {
	t.Run("EndsLeastRecentlyUsed", func(t *testing.T) {
		st := s.store(t)
		a, b, c := newRecord(t, "alice"), newRecord(t, "alice"), newRecord(t, "alice")
		for _, r := range []*store.Record{a, b, c} {
			mustSignIn(t, st, signIn(r, nil, 0))
		}
		// b is rotated (a forwarder stays), which is a use: its lineage is
		// now used after c's, and ends whole.
		bNext := newRecord(t, "alice")
		bNext.Lineage = b.Key
		if err := st.Rotate(t.Context(), b.Key, b.Version, bNext, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// a is used last: it stays.
		mustUpdate(t, st, a)
		pastMargin()
		bob := newRecord(t, "bob")
		mustSignIn(t, st, signIn(bob, nil, 0))
		d := newRecord(t, "alice")
		out := mustSignIn(t, st, &store.SignIn{Record: d, Limit: 2, LimitReason: reasonLimit})
		if want := []string{c.Key, b.Key}; !slices.Equal(out.Ended, want) {
			t.Errorf("Ended = %s, want %s (least recently used first)", short(out.Ended), short(want))
		}
		if out.Sessions != store.UnknownCount && out.Sessions != 2 {
			t.Errorf("Sessions = %d, want 2", out.Sessions)
		}
		for _, k := range []string{b.Key, bNext.Key, c.Key} {
			checkReason(t, st, "a record past the bound", k, reasonLimit)
		}
		checkListed(t, st, "alice after the bound", "alice", a.Key, d.Key)
		checkListed(t, st, "bob after alice's bound", "bob", bob.Key)
	})
	t.Run("WithinTheBoundEndsNothing", func(t *testing.T) {
		st := s.store(t)
		a := newRecord(t, "alice")
		mustSignIn(t, st, signIn(a, nil, 0))
		pastMargin()
		b := newRecord(t, "alice")
		out := mustSignIn(t, st, &store.SignIn{Record: b, Limit: 2, LimitReason: reasonLimit})
		checkSessions(t, "within the bound", out, 2)
		if out.Ended != nil {
			t.Errorf("Ended = %s, want none", short(out.Ended))
		}
		// Limit 0 is no bound.
		out = mustSignIn(t, st, signIn(newRecord(t, "alice"), nil, 0))
		checkSessions(t, "no bound", out, 3)
		if out.Ended != nil {
			t.Errorf("no bound: Ended = %s, want none", short(out.Ended))
		}
	})
	t.Run("ExpiredLineagesDoNotCount", func(t *testing.T) {
		st := s.store(t)
		gone := expireIn(newRecord(t, "alice"), 200*time.Millisecond)
		mustSignIn(t, st, signIn(gone, nil, 0))
		live := newRecord(t, "alice")
		mustSignIn(t, st, signIn(live, nil, 0))
		pastMargin()
		out := mustSignIn(t, st, &store.SignIn{Record: newRecord(t, "alice"), Limit: 2, LimitReason: reasonLimit})
		if slices.Contains(out.Ended, live.Key) {
			t.Errorf("the bound ended a live session although the other one had expired: Ended = %s", short(out.Ended))
		}
		mustGet(t, st, live.Key)
	})
	t.Run("NeverANewerSession", func(t *testing.T) {
		st := s.store(t)
		// newer's sign-in reached the store after older's request began:
		// older's write, slower, must not end it, at any bound.
		olderBegan := time.Now().Add(-time.Second)
		newer := newRecord(t, "alice")
		mustSignIn(t, st, signIn(newer, nil, 0))
		older := newRecord(t, "alice")
		out := mustSignIn(t, st, &store.SignIn{Record: older, Elapsed: time.Since(olderBegan), Limit: 1, LimitReason: reasonLimit})
		if out.Ended != nil {
			t.Errorf("Ended = %s, want none: the other session is newer", short(out.Ended))
		}
		checkSessions(t, "over the bound by a newer session", out, 2)
		mustGet(t, st, newer.Key)
		mustGet(t, st, older.Key)
		// Nor one used after the sign-in began.
		pastMargin()
		began := time.Now()
		mustUpdate(t, st, newer)
		out = mustSignIn(t, st, &store.SignIn{Record: newRecord(t, "alice"), Elapsed: time.Since(began), Limit: 1, LimitReason: reasonLimit})
		if want := []string{older.Key}; !slices.Equal(out.Ended, want) {
			t.Errorf("Ended = %s, want %s: the other was used during the sign-in", short(out.Ended), short(want))
		}
		mustGet(t, st, newer.Key)
	})
	t.Run("ConcurrentSignInsAtBoundOne", s.concurrentSignIns)
}

// concurrentSignIns runs, for many users at once, two sign-ins of one user
// at the same moment with MaxSessionsPerUser 1 (a double-clicked form), the
// user holding an older session: the older one ends and the user is never
// left without a session, whatever order the writes reach the store in.
func (s suite) concurrentSignIns(t *testing.T) {
	const users = 200
	st := s.store(t)
	olds := make([]*store.Record, users)
	for i := range olds {
		olds[i] = newRecord(t, fmt.Sprintf("user%d", i))
		mustSignIn(t, st, signIn(olds[i], nil, 0))
	}
	pastMargin()
	pairs := make([][2]*store.Record, users)
	errs := make(chan error, 2*users)
	var wg sync.WaitGroup
	for i := range pairs {
		for j := range pairs[i] {
			pairs[i][j] = newRecord(t, olds[i].UserID)
			in := &store.SignIn{Record: pairs[i][j], Elapsed: time.Duration(j) * 100 * time.Millisecond, Limit: 1, LimitReason: reasonLimit}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := st.SignIn(t.Context(), in); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent SignIn: %v", err)
	}
	both := 0
	for i, p := range pairs {
		got := listKeys(t, st, olds[i].UserID)
		var live int
		for _, k := range got {
			if k != p[0].Key && k != p[1].Key {
				t.Errorf("user %d: session %s still live after two sign-ins at bound 1", i, short([]string{k}))
				continue
			}
			live++
		}
		switch live {
		case 0:
			t.Errorf("user %d: no session left after two sign-ins at once", i)
		case 2:
			both++
		}
		checkReason(t, st, fmt.Sprintf("user %d's old session", i), olds[i].Key, reasonLimit)
	}
	// Both stay unless the second write reached the store more than
	// SignInMargin after the first: then the first is older than the
	// second's request and may end.
	t.Logf("%d of %d double sign-ins kept both sessions", both, users)
}
