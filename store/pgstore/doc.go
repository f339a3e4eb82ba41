// Package pgstore keeps sessions in PostgreSQL, through
// github.com/jackc/pgx/v5 and its pgxpool: the store for applications that
// already run PostgreSQL and would rather not add Redis or a local file to
// keep sessions. Any number of instances can share one database.
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	if err != nil {
//		return err
//	}
//	defer pool.Close()
//	st := pgstore.New(pool, pgstore.Options{})
//	defer st.Close()
//	if err := st.CreateTable(ctx); err != nil { // or run pgstore.Schema in a migration
//		return err
//	}
//	manager, err := session.New(st, session.Config{})
//
// # The schema
//
// [Schema] is the whole of it, and [Store.CreateTable] runs it. Teams that
// manage their schema with migrations copy it into one instead; every
// statement in it is idempotent. In short:
//
//	sessionguard_sessions (
//	    key          text PRIMARY KEY, -- hex SHA-256 of the token: a dump yields no usable cookie
//	    version      bigint NOT NULL,  -- the record's version; every write is conditional on it
//	    user_id      text,             -- NULL when anonymous, and on a tombstone
//	    lineage      text NOT NULL,    -- the session across renewals (Record.LineageKey)
//	    expires      bigint NOT NULL,  -- Unix nanoseconds: when the record, or tombstone, ends
//	    gone         smallint,         -- NULL on a record; on a tombstone, why it ended
//	    successor    text,             -- set on the forwarder a periodic rotation leaves
//	    grace_until  bigint,           -- ... and until when it forwards
//	    record       bytea             -- store.Record.MarshalBinary(); NULL on a tombstone
//	)
//	index sessionguard_sessions_user    on (user_id, lineage) where user_id is not null
//	index sessionguard_sessions_expires on (expires)
//	function sessionguard_rotate(...)   -- renewal and periodic rotation, one transaction
//	function sessionguard_revoke(...)   -- RevokeUser and RevokeLineage, one transaction
//
// The tables and functions are created unqualified, so in the first schema
// of the connection's search_path: set search_path in the connection
// string to keep them in a schema of their own. The database user needs
// SELECT, INSERT, UPDATE and DELETE on the table and EXECUTE on the
// functions; only CreateTable needs CREATE. Times are kept in Unix
// nanoseconds, exactly as the session layer compares them, and are judged
// against this process's clock (Options.Now), not the database server's.
// User IDs are kept as text, so they must be UTF-8 without NUL bytes: a
// write with any other is refused with a clear error.
//
// # Round trips and atomicity
//
// Each operation is one statement, so one round trip once pgx has prepared
// it on the connection: Get is a primary-key lookup; Create an INSERT …
// ON CONFLICT that replaces only a dead row; Update an UPDATE conditional
// on the version (a failed one costs a second query that says why:
// missing, ended or another version); Delete an UPDATE into a tombstone;
// ListUser an index scan of user_id. Rotate (a sign-in, a privilege change,
// a periodic rotation) and the revocations are calls of the PL/pgSQL
// functions above, each one transaction: the old record is tombstoned, or
// turned into a forwarder, and the new one created, together or not at all.
// The Store is a [store.UserCounter]: CreateCounting and RotateCounting
// are the same statements with a count of the user's live records over the
// user index added, so that the session layer lists a user's sessions to
// bound them only when the sign-in's own statement says they may be over
// the bound.
//
// A revocation cannot be escaped by a renewal running at the same time:
// rotations take a shared transaction-level advisory lock on the user
// (pg_advisory_xact_lock_shared(21319, hashtext(user_id))) before any row
// lock, and revocations take it exclusive, then end the user's records in
// a statement with a fresh snapshot. So a revocation waits for the
// rotations in flight and ends the records they made, and a rotation that
// comes after it finds its old record already ended. Applications that use
// two-key advisory locks themselves should keep clear of the first key,
// 21319.
//
// # Isolation levels
//
// The store is correct whatever default_transaction_isolation the server,
// database, role or connection sets (TestConformanceUnderIsolation runs
// the conformance suite at repeatable read and serializable). Its
// statements run at that default, and at repeatable read or serializable
// PostgreSQL answers a write that meets a row changed since its snapshot
// (two requests of one session, a renewal racing a revocation) with a
// serialization failure, SQLSTATE 40001, where read committed re-reads the
// row. The failed statement has changed nothing, so the store runs it
// again on a fresh snapshot, up to 30 times with a random, growing pause,
// and the answer is the one read committed gives; a statement still
// failing after that returns an error wrapping [ErrSerialization]. A
// revocation always runs at read committed, set for its own transaction in
// the same round trip: it must see the records committed while it waited
// for the rotations in flight, which a snapshot taken before the wait does
// not hold (TestI11RevokeSeesRotationsInFlightUnderEveryIsolation).
//
// # Expiry and the sweeper
//
// A record is dead from its Expires time on: Get answers a
// [*store.GoneError] with [store.ReasonExpired] until the row is deleted,
// then [store.ErrNotFound]; Update and Rotate refuse it; ListUser skips it.
// A tombstone lasts until the record's Expires, and at least
// [store.ReasonTTL] for a reason above ReasonExpired (a sign-out, a
// revocation), so a returning user can be told why.
//
// Deleting what has died is the sweeper's job: a goroutine that [New]
// starts, which runs [Store.Sweep] every Options.SweepInterval (the first
// time one interval after New, so that CreateTable can run first). A sweep
// deletes rows past their end through the index on expires, a thousand per
// statement, skipping rows other transactions hold, so several instances
// can sweep the same table.
// [Store.Close] stops it; the pool stays the caller's to close.
//
// # Failures
//
// Errors name the operation and the session's fingerprint (never a token
// or a full key) and wrap the cause: the sentinel errors of package store,
// a context's error, or pgx's. A record that does not decode is an error
// wrapping [store.ErrCorrupt], on which the session layer fails closed.
package pgstore
