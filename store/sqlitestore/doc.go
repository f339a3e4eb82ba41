// Package sqlitestore keeps sessions in a SQLite file, through
// modernc.org/sqlite: SQLite compiled to pure Go, so the program needs no
// cgo and no C toolchain. It is the store for small applications that
// already keep their data in SQLite, or that want sessions to survive a
// restart and to be readable with the sqlite3 shell. Unlike
// store/boltstore's file, several processes on one machine may open the
// same file at once.
//
//	st, err := sqlitestore.Open("/var/lib/myapp/sessions.db", sqlitestore.Options{})
//	if err != nil {
//		return err
//	}
//	defer st.Close()
//	manager, err := session.New(st, session.Config{})
//
// # The file
//
// [Open] creates the file (mode 0600) and its table if need be, and marks
// the file as a session store (PRAGMA application_id 0x53475351); it
// refuses a database that holds other tables ([ErrNotStore]) rather than
// add its own to it. Keep sessions in a file of their own. The table:
//
//	sessionguard_sessions (
//	    key          TEXT PRIMARY KEY, -- hex SHA-256 of the token: the file yields no usable cookie
//	    version      INTEGER,          -- the record's version; every write is conditional on it
//	    user_id      TEXT,             -- NULL when anonymous, and on a tombstone (indexed)
//	    lineage      TEXT,             -- the session across renewals (Record.LineageKey)
//	    expires      INTEGER,          -- Unix nanoseconds: when the record, or tombstone, ends (indexed)
//	    gone         INTEGER,          -- NULL on a record; on a tombstone, why it ended
//	    successor    TEXT,             -- set on the forwarder a periodic rotation leaves
//	    grace_until  INTEGER,          -- ... and until when it forwards
//	    record       BLOB              -- store.Record.MarshalBinary(); NULL on a tombstone
//	)
//
// # Writers, readers and durability
//
// The file is in WAL mode: readers never wait for the writer, nor it for
// them. Every write of a process goes through one connection, in a
// transaction that takes the write lock at its start (BEGIN IMMEDIATE),
// so writes never fail halfway on a lock upgrade; reads go through a pool
// of read-only connections (Options.Readers). Between processes SQLite's
// file locks serialize the writers, and a statement waits up to
// Options.BusyTimeout (five seconds by default) for the lock before it
// fails.
//
// Each write is a single statement or a single transaction: Create,
// Update (conditional on the version) and Delete are one statement;
// Rotate checks the old record, creates the new one and tombstones, or
// forwards, the old one in one transaction; RevokeUser and RevokeLineage
// end the selected records in one transaction, RevokeUser writing the
// user's revocation mark (table sessionguard_marks, kept for
// [store.MarkTTL]) in it; SignIn checks the mark, writes, and ends the
// lineages past the bound in one. Triggers keep the table
// sessionguard_lineages (each signed-in lineage and its last use, on the
// store's clock, Options.Now) in step with every row written, so that a
// sign-in at the bound reads the user's least recently used lineages over
// the index on (user_id, used) without listing the user's sessions. A file
// of the first schema gets these tables when it opens (PRAGMA
// user_version 2). Since the write lock serializes them, no
// renewal can interleave with a revocation. Commits use synchronous=FULL:
// a write returns once it is on disk, and a crash at any point leaves the
// file at the last commit. The tests kill a writing process with SIGKILL
// and check exactly this, and SQLite's integrity check, afterwards.
//
// # Expiry and the sweeper
//
// A record is dead from its Expires time on: Get answers a
// [*store.GoneError] with [store.ReasonExpired] until the row is deleted,
// then [store.ErrNotFound]; Update and Rotate refuse it; ListUser skips
// it. A tombstone lasts until the record's Expires, and at least
// [store.ReasonTTL] for a reason above ReasonExpired. The sweeper, a
// goroutine [Open] starts and [Store.Close] stops, runs [Store.Sweep] at
// once and then every Options.SweepInterval: it deletes rows past their
// end through the index on expires, a thousand per transaction.
//
// # Failures
//
// Errors name the operation and the session's fingerprint (never a token
// or a full key) and wrap the cause: the sentinel errors of package store,
// a context's error, or SQLite's. A record that does not decode is an
// error wrapping [store.ErrCorrupt], on which the session layer fails
// closed.
package sqlitestore
