// Package storetest is the conformance suite for [store.Store]
// implementations. Every store in this module runs it, and a third-party
// store should too: the [session.Manager] relies on each clause of the
// contract written on [store.Store] to keep its invariants (strict IDs,
// renewal that kills the old token, no lost updates, no resurrection), and
// those guarantees are only as strong as the store underneath.
//
// # Using it
//
// Call [Run] from an ordinary test, with a function that returns a fresh,
// empty store and registers its own cleanup:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := mystore.Open(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() {
//				if err := s.Close(); err != nil {
//					t.Error(err)
//				}
//			})
//			return s
//		})
//	}
//
// Run it with the race detector (go test -race): the concurrency cases are
// written to expose unsynchronised state as data races, not only as wrong
// answers.
//
// # What it checks
//
// Each clause of the [store.Store] contract is one or more named subtests
// (Create/…, Get/…, Update/…, Rotate/…, Delete/…, ListUser/…, Expiry/…,
// Context/…, Concurrency/…, Revoke/…, SignIn/…, Marks/…, Bound/…), so a
// failure names the clause that broke. Marks/… holds a store to the
// revocation check of [store.Store.SignIn] on every path (no old record,
// an anonymous one) and to the request-start semantics of
// [store.SignIn.Elapsed]; Bound/… to the bound it keeps: least recently
// used lineages first, whole lineages, expired ones not counted, never a
// lineage newer than the sign-in, and 200 users signing in twice at once
// at bound 1, none of whom may be left without a session.
// Errors are compared with [errors.Is], so stores may wrap the sentinel
// errors. Times are compared with [time.Time.Equal], to the nanosecond.
//
// Where the written contract is silent, the suite checks what the
// [session.Manager] needs and says so on the subtest:
//
//   - A store keeps no reference to the record passed to Create, Update or
//     Rotate: the caller may reuse it, and its Data, after the call.
//   - A failed Create, Update or Rotate leaves the caller's Version alone.
//   - ListUser("") returns nothing: anonymous sessions are not a user's, and
//     listing every visitor would be the full scan the index exists to avoid.
//   - An Update that changes UserID moves the record from the old user's
//     listing to the new one's, since ListUser answers by the current UserID.
//   - Rotate onto a key that is already taken fails with
//     [store.ErrExists] and leaves the record holding that key untouched.
//
// [BenchmarkSignIn] measures a store's sign-in within the bound on a
// user's sessions and at it, for stores whose clock can be set.
//
// # Requirements on the store under test
//
// Subtests run one after another, never in parallel, so newStore may hand
// out stores that share a backend (one Redis database flushed per call, for
// instance). Expiry cases use records that expire 200ms after they are
// written and then check them against the local clock, so the store must
// compare Expires with a clock in step with the test's, and keep its
// revocation marks and last uses on a clock that advances with it. The
// sign-in cases wait out [store.SignInMargin] several times: the whole
// suite takes about ten seconds against an in-memory store, almost all of
// it waiting.
package storetest
