// Package boltstore is the embedded, persistent [store.Store]: sessions
// kept in one file with go.etcd.io/bbolt, so that they survive a restart of
// the process and need no server. It is the default store of a
// single-instance deployment; use store/redisstore when several instances
// share sessions, store/memstore in tests.
//
//	st, err := boltstore.Open("/var/lib/myapp/sessions.db", boltstore.Options{})
//	if err != nil {
//		return err
//	}
//	defer st.Close()
//	manager, err := session.New(st, session.Config{})
//
// # The file
//
// One process at a time may have the file open: bbolt takes an exclusive
// lock on it. A second [Open] (another instance of the program, or the same
// one started twice) waits Options.LockTimeout, one second by default, and
// fails with [ErrLocked] rather than hang. A process that dies loses its
// lock with it; there is no stale lock file to remove.
//
// The file is created with mode 0600 and holds these buckets:
//
//   - meta: the layout's name ("sessionguard-boltstore/1"). Open refuses a
//     file of another layout, and a bbolt file that is not a session store
//     ([ErrNotStore]), instead of adding buckets to it.
//   - records: store key → [store.Record.MarshalBinary], version included.
//     The key is the hex SHA-256 of the session token: the file, like any
//     copy or backup of it, yields no usable cookie (invariant I4).
//   - tombstones: key → the time until which the key of a deleted, renewed
//     or revoked record stays dead, then the [store.Reason] it ended for
//     (one byte; a value without it, as earlier versions wrote, has
//     [store.ReasonNone]). Such a value makes a file unreadable to those
//     versions, which then fail closed on it.
//   - users: length-prefixed user ID + key → empty, one entry per signed-in
//     record: [Store.ListUser] reads a user's sessions by a prefix scan of
//     this index, never by scanning the records.
//   - expiry and tombstone-expiry: big-endian expiry time + key → empty,
//     ordered by time, so the sweeper reads only what has expired.
//
// Every change to a record updates the records, the user index and the
// expiry index in one bbolt transaction, [Store.Rotate] included: the old
// record is tombstoned (or, for a rotation with a grace time, rewritten as
// a forwarder to the new one) and the new one created together or not at
// all (invariant I3). [Store.RevokeUser] and [Store.RevokeLineage] read the
// user's index entries and tombstone the records they select in one write
// transaction too. bbolt runs write transactions one at a time, so a
// revocation sees every record a Create or Rotate committed before it, and
// a Rotate that comes after it finds its old record tombstoned: no session
// escapes a revocation by being renewed at the same moment.
//
// # Durability
//
// A method that changes the store returns once its transaction is
// committed, which bbolt does by writing the new pages, calling fdatasync,
// then switching one of two meta pages. A crash at any point, even
// mid-commit, leaves the file at the last committed state: a session whose
// Create returned is there after a restart, and none is half-written. The
// tests kill a writing process with SIGKILL and check exactly this.
//
// Writes are serialized, and a commit costs a disk sync, but writes that
// arrive while a commit is under way do not each wait for a sync of their
// own: they are committed together, in arrival order, in the next
// transaction, with one sync (group commit). Each still returns only once
// its transaction is synced, and each sees the writes before it, so a
// conditional write that loses to one of its group gets
// [store.ErrConflict] exactly as it would alone; a write that fails
// otherwise is rolled back alone (the group is run again one write per
// transaction); a failed commit is not run again (see Failures). A lone write is committed at once, never held back to wait
// for company. Under 32 concurrent writers this gives several times the
// throughput of a sync per write (BenchmarkBoltParallelWrite in the
// repository's bench module). Reads run in parallel and cost no sync. The Manager writes on sign-in, sign-out, value changes and at
// most once per Config.TouchInterval per session, not on every request.
//
// # Expiry and the sweeper
//
// A record is dead from its Expires time on: [Store.Get], [Store.Update]
// and [Store.Rotate] answer a [*store.GoneError] with [store.ReasonExpired]
// for it until the sweeper removes it, then [store.ErrNotFound], and
// [Store.ListUser] and the revocations skip it (invariant I5). A tombstone
// lasts until the Expires time of the record it replaced, so a logged-out
// or renewed token stays dead for as long as it could have lived; one
// whose reason is above ReasonExpired (a sign-out, a revocation) lasts at
// least [store.ReasonTTL] from the moment the record ended, so that the
// reason can still be told the next day.
//
// Removing what has died is the sweeper's job: a goroutine that [Open]
// starts, which runs [Store.Sweep] at once and then every
// Options.SweepInterval (one minute by default). A sweep walks the expiry
// indexes from the oldest entry and stops at the first one still in force,
// in transactions of at most a thousand entries, so it costs what it
// removes, not the size of the store, and never holds the writer lock for
// long. [Store.Close] stops the goroutine and waits for it. Freed pages are
// reused by later writes; bbolt does not shrink the file.
//
// # Failures
//
// Errors name the operation and the session's fingerprint (never a token
// or a full key) and wrap the cause: the sentinel errors of package
// store, a context's error, or bbolt's. A record or tombstone that does
// not decode is an error wrapping [store.ErrCorrupt], on which the
// Manager fails closed (invariant I9): the request gets the Manager's error
// response, never a fresh anonymous session over the damaged one. The
// sweeper leaves such a record in place and reports it through
// Options.Logger.
//
// A commit that fails (the disk refused a write or an fsync, or is full)
// is not retried, and breaks the store: that write, the others of its
// group and every write after it fail with an error wrapping
// [ErrCommitFailed] until the store is closed and opened again, even if
// the disk recovers meanwhile, because what reached the file is unknown
// and bbolt's pages in memory may no longer match it (writing on could
// corrupt the file). Reads go on, from what was last committed. A write
// reported failed this way may nevertheless be in the file after
// reopening, as an fsync error may come after the disk kept the data: a
// sign-out the user was told failed may have happened, and a sign-in
// reported failed may have left a session no cookie names, which expires
// unused. The Manager fails the request closed either way (its error
// response, 503 by default), and the store logs the failure through
// Options.Logger (TestFailedCommitRefusesWritesUntilReopened fails the
// disk under a live store).
package boltstore
