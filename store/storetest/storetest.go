package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// Run checks that the stores newStore returns honour the [store.Store]
// contract. newStore is called once per subtest and must return a fresh,
// empty store; it registers the store's cleanup with t.Cleanup, and may
// fail t if the store cannot be made (a missing database must fail the
// test, never skip it silently).
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	s := suite{newStore: newStore}
	t.Run("Create", s.create)
	t.Run("Get", s.get)
	t.Run("Update", s.update)
	t.Run("Rotate", s.rotate)
	t.Run("Delete", s.delete)
	t.Run("ListUser", s.listUser)
	t.Run("Expiry", s.expiry)
	t.Run("Context", s.context)
	t.Run("Concurrency", s.concurrency)
	t.Run("Forwarding", s.forwarding)
	t.Run("Reasons", s.reasons)
	t.Run("Revoke", s.revoke)
	t.Run("SignIn", s.signIn)
	t.Run("Marks", s.marks)
	t.Run("Bound", s.bound)
}

// suite carries the store factory to the groups of subtests.
type suite struct {
	newStore func(t *testing.T) store.Store
}

// store returns a fresh store for t, failing early if the factory returns
// nil so that a broken factory is not reported as a dozen store bugs.
func (s suite) store(t *testing.T) store.Store {
	t.Helper()
	st := s.newStore(t)
	if st == nil {
		t.Fatal("newStore returned a nil store")
	}
	return st
}

// newKey returns a key shaped as the Manager makes them: the hex form of 32
// random bytes, standing in for the SHA-256 of a token.
func newKey(t testing.TB) string {
	t.Helper()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("crypto/rand: %v", err)
	}
	return hex.EncodeToString(b[:])
}

// newRecord returns a record with every field set to a distinct, plausible
// value, so that a store which drops or swaps a field is caught. The
// deadlines are consistent with each other (Expires is
// min(LastSeen+IdleTimeout, Deadline)) so that no store is tripped by a
// record the Manager would never write. userID "" makes an anonymous record,
// whose AuthTime is zero.
func newRecord(t testing.TB, userID string) *store.Record {
	t.Helper()
	now := time.Now()
	data := make([]byte, 48)
	if _, err := rand.Read(data); err != nil {
		t.Fatalf("crypto/rand: %v", err)
	}
	rec := &store.Record{
		Key:         newKey(t),
		UserID:      userID,
		Created:     now.Add(-3 * time.Minute),
		LastSeen:    now.Add(-time.Minute),
		IdleTimeout: time.Hour,
		Deadline:    now.Add(12 * time.Hour),
		IP:          "203.0.113.7",
		UserAgent:   "storetest/1 (conformance)",
		Data:        data,
	}
	rec.Expires = rec.LastSeen.Add(rec.IdleTimeout)
	if userID != "" {
		rec.AuthTime = now.Add(-2 * time.Minute)
	}
	return rec
}

// expireIn makes rec expire d from now, keeping its deadlines consistent.
func expireIn(rec *store.Record, d time.Duration) *store.Record {
	now := time.Now()
	rec.LastSeen = now
	rec.IdleTimeout = d
	rec.Expires = now.Add(d)
	return rec
}

// diffRecord lists the fields in which got differs from want, Version aside.
func diffRecord(got, want *store.Record) []string {
	var d []string
	str := func(name, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %q, want %q", name, g, w))
		}
	}
	tm := func(name string, g, w time.Time) {
		if !g.Equal(w) {
			d = append(d, fmt.Sprintf("%s = %v, want %v", name, g, w))
		}
	}
	str("Key", got.Key, want.Key)
	str("UserID", got.UserID, want.UserID)
	tm("Created", got.Created, want.Created)
	tm("LastSeen", got.LastSeen, want.LastSeen)
	tm("AuthTime", got.AuthTime, want.AuthTime)
	if got.IdleTimeout != want.IdleTimeout {
		d = append(d, fmt.Sprintf("IdleTimeout = %v, want %v", got.IdleTimeout, want.IdleTimeout))
	}
	tm("Deadline", got.Deadline, want.Deadline)
	tm("Expires", got.Expires, want.Expires)
	if got.Persistent != want.Persistent {
		d = append(d, fmt.Sprintf("Persistent = %v, want %v", got.Persistent, want.Persistent))
	}
	str("IP", got.IP, want.IP)
	str("UserAgent", got.UserAgent, want.UserAgent)
	str("Successor", got.Successor, want.Successor)
	str("Lineage", got.Lineage, want.Lineage)
	tm("GraceUntil", got.GraceUntil, want.GraceUntil)
	if !bytes.Equal(got.Data, want.Data) {
		d = append(d, fmt.Sprintf("Data = %x, want %x", got.Data, want.Data))
	}
	return d
}

// checkRecord fails t unless got holds want's fields at version wantVersion.
func checkRecord(t *testing.T, what string, got, want *store.Record, wantVersion uint64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got a nil record", what)
		return
	}
	d := diffRecord(got, want)
	if got.Version != wantVersion {
		d = append(d, fmt.Sprintf("Version = %d, want %d", got.Version, wantVersion))
	}
	if len(d) > 0 {
		t.Errorf("%s: record differs:\n\t%s", what, strings.Join(d, "\n\t"))
	}
}

// checkErr fails t unless err matches one of targets with errors.Is.
func checkErr(t *testing.T, what string, err error, targets ...error) bool {
	t.Helper()
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
		if target == errExpired {
			if errors.Is(err, store.ErrNotFound) {
				return true
			}
			if r, ok := store.ReasonOf(err); ok && r == store.ReasonExpired {
				return true
			}
		}
	}
	t.Errorf("%s: err = %v, want %v", what, err, errorList(targets))
	return false
}

// errExpired, as a target of checkErr, accepts what the contract allows
// for an expired record: ErrNotFound, or a GoneError with ReasonExpired.
var errExpired = errors.New("store: record not found, or gone with ReasonExpired")

func errorList(targets []error) string {
	s := make([]string, len(targets))
	for i, e := range targets {
		s[i] = fmt.Sprintf("%q", e)
	}
	return strings.Join(s, " or ")
}

// mustCreate creates rec or stops the test: the case cannot go on without it.
func mustCreate(t *testing.T, st store.Store, rec *store.Record) {
	t.Helper()
	if err := st.Create(t.Context(), rec); err != nil {
		t.Fatalf("Create(%s…): %v", rec.Key[:8], err)
	}
}

// mustUpdate updates rec or stops the test.
func mustUpdate(t *testing.T, st store.Store, rec *store.Record) {
	t.Helper()
	if err := st.Update(t.Context(), rec); err != nil {
		t.Fatalf("Update(%s…): %v", rec.Key[:8], err)
	}
}

// mustGet gets the live record key or stops the test.
func mustGet(t *testing.T, st store.Store, key string) *store.Record {
	t.Helper()
	rec, err := st.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%s…): %v", key[:8], err)
	}
	if rec == nil {
		t.Fatalf("Get(%s…) returned a nil record and no error", key[:8])
	}
	return rec
}

// checkGetErr fails t unless Get of key fails with one of targets.
func checkGetErr(t *testing.T, st store.Store, what, key string, targets ...error) {
	t.Helper()
	rec, err := st.Get(t.Context(), key)
	if err == nil {
		t.Errorf("%s: Get returned a record (version %d, user %q), want %s",
			what, rec.Version, rec.UserID, errorList(targets))
		return
	}
	checkErr(t, what+": Get", err, targets...)
}

// checkLive fails t unless key holds a live record with want's fields at
// version wantVersion.
func checkLive(t *testing.T, st store.Store, what, key string, want *store.Record, wantVersion uint64) {
	t.Helper()
	got, err := st.Get(t.Context(), key)
	if err != nil {
		t.Errorf("%s: Get: %v, want the live record", what, err)
		return
	}
	checkRecord(t, what, got, want, wantVersion)
}

// listKeys returns the sorted keys ListUser gives for userID, failing t if
// a listed record belongs to someone else.
func listKeys(t *testing.T, st store.Store, userID string) []string {
	t.Helper()
	recs, err := st.ListUser(t.Context(), userID)
	if err != nil {
		t.Fatalf("ListUser(%q): %v", userID, err)
	}
	keys := make([]string, 0, len(recs))
	for _, r := range recs {
		if r == nil {
			t.Errorf("ListUser(%q) returned a nil record", userID)
			continue
		}
		if r.UserID != userID {
			t.Errorf("ListUser(%q) returned a record of user %q", userID, r.UserID)
		}
		keys = append(keys, r.Key)
	}
	slices.Sort(keys)
	return keys
}

// checkListed fails t unless ListUser(userID) gives exactly the records
// keyed by want, each once.
func checkListed(t *testing.T, st store.Store, what, userID string, want ...string) {
	t.Helper()
	got := listKeys(t, st, userID)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: ListUser(%q) keys = %s, want %s", what, userID, short(got), short(want))
	}
}

// short abbreviates keys for messages.
func short(keys []string) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		if len(k) > 8 {
			k = k[:8] + "…"
		}
		s[i] = k
	}
	return "[" + strings.Join(s, " ") + "]"
}

// withTimeout runs call and fails t if it has not returned within d: a
// store that blocks forever must fail its test, not stall the run.
func withTimeout(t *testing.T, d time.Duration, what string, call func()) bool {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		call()
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		t.Errorf("%s did not return within %v", what, d)
		return false
	}
}

// ctxDone returns a context that is already cancelled.
func ctxDone(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
