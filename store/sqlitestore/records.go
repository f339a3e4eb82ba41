package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// schema is the table of a new file. A tombstone is a row with gone set
// and no record; expires is its end. The lineages table and its triggers
// come with it (schemaV2).
const schema = `
CREATE TABLE sessionguard_sessions (
    key          TEXT PRIMARY KEY NOT NULL, -- hex SHA-256 of the session token (never the token)
    version      INTEGER NOT NULL,          -- Record.Version; 0 on a tombstone
    user_id      TEXT,                      -- Record.UserID; NULL when anonymous, and on a tombstone
    lineage      TEXT NOT NULL,             -- Record.LineageKey()
    expires      INTEGER NOT NULL,          -- Unix nanoseconds: Record.Expires, or a tombstone's end
    gone         INTEGER,                   -- NULL on a record; the store.Reason on a tombstone
    successor    TEXT,                      -- Record.Successor, NULL if none
    grace_until  INTEGER,                   -- Record.GraceUntil in Unix nanoseconds, NULL if zero
    record       BLOB                       -- Record.MarshalBinary(); NULL on a tombstone
);
CREATE INDEX sessionguard_sessions_user ON sessionguard_sessions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX sessionguard_sessions_expires ON sessionguard_sessions (expires);
`

// schemaV2 adds, to a file of the first schema (PRAGMA user_version 0), the
// last use of every row and of every signed-in lineage, on the store's
// clock (Options.Now), and the users' revocation marks. Triggers keep the
// lineages table in step with the rows: a write of a signed-in row makes
// its lineage's last use its own, and a lineage goes with its last row.
// Lineages of a file upgraded from the first schema start with last use 0,
// as if used before any later write.
const schemaV2 = `
ALTER TABLE sessionguard_sessions ADD COLUMN used INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sessionguard_sessions_lineage ON sessionguard_sessions (user_id, lineage) WHERE user_id IS NOT NULL;
CREATE TABLE sessionguard_lineages (
    user_id  TEXT NOT NULL,
    lineage  TEXT NOT NULL,
    used     INTEGER NOT NULL, -- Unix nanoseconds: the latest write of one of its rows
    PRIMARY KEY (user_id, lineage)
) WITHOUT ROWID;
CREATE INDEX sessionguard_lineages_used ON sessionguard_lineages (user_id, used);
CREATE TABLE sessionguard_marks (
    user_id  TEXT PRIMARY KEY NOT NULL,
    at       INTEGER NOT NULL, -- Unix nanoseconds: the latest RevokeUser of the user
    reason   INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO sessionguard_lineages (user_id, lineage, used)
    SELECT user_id, lineage, 0 FROM sessionguard_sessions WHERE user_id IS NOT NULL GROUP BY user_id, lineage;
CREATE TRIGGER sessionguard_lineage_insert AFTER INSERT ON sessionguard_sessions
WHEN NEW.user_id IS NOT NULL BEGIN
    INSERT INTO sessionguard_lineages (user_id, lineage, used) VALUES (NEW.user_id, NEW.lineage, NEW.used)
    ON CONFLICT (user_id, lineage) DO UPDATE SET used = max(used, excluded.used);
END;
CREATE TRIGGER sessionguard_lineage_update AFTER UPDATE ON sessionguard_sessions
WHEN NEW.user_id IS NOT NULL BEGIN
    INSERT INTO sessionguard_lineages (user_id, lineage, used) VALUES (NEW.user_id, NEW.lineage, NEW.used)
    ON CONFLICT (user_id, lineage) DO UPDATE SET used = max(used, excluded.used);
END;
CREATE TRIGGER sessionguard_lineage_leave AFTER UPDATE ON sessionguard_sessions
WHEN OLD.user_id IS NOT NULL AND (NEW.user_id IS NOT OLD.user_id OR NEW.lineage IS NOT OLD.lineage) BEGIN
    DELETE FROM sessionguard_lineages WHERE user_id = OLD.user_id AND lineage = OLD.lineage
    AND NOT EXISTS (SELECT 1 FROM sessionguard_sessions WHERE user_id = OLD.user_id AND lineage = OLD.lineage);
END;
CREATE TRIGGER sessionguard_lineage_delete AFTER DELETE ON sessionguard_sessions
WHEN OLD.user_id IS NOT NULL BEGIN
    DELETE FROM sessionguard_lineages WHERE user_id = OLD.user_id AND lineage = OLD.lineage
    AND NOT EXISTS (SELECT 1 FROM sessionguard_sessions WHERE user_id = OLD.user_id AND lineage = OLD.lineage);
END;
PRAGMA user_version = 2;
`

const (
	sqlGet = `SELECT version, expires, gone, successor, grace_until, record
	FROM sessionguard_sessions WHERE key = ?`

	// sqlInsert adds a record, replacing only a dead row (a record past its
	// Expires or a lapsed tombstone).
	// now (?8) is the row's last use.
	sqlInsert = `INSERT INTO sessionguard_sessions
	(key, version, user_id, lineage, expires, gone, successor, grace_until, record, used)
	VALUES (?1, 1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?8)
	ON CONFLICT (key) DO UPDATE SET version = 1, user_id = excluded.user_id,
		lineage = excluded.lineage, expires = excluded.expires, gone = NULL,
		successor = excluded.successor, grace_until = excluded.grace_until, record = excluded.record,
		used = excluded.used
	WHERE sessionguard_sessions.expires <= ?8`

	sqlUpdate = `UPDATE sessionguard_sessions SET version = version + 1, user_id = ?3, lineage = ?4,
	expires = ?5, successor = ?6, grace_until = ?7, record = ?8, used = ?9
	WHERE key = ?1 AND version = ?2 AND gone IS NULL AND expires > ?9`

	// sqlBury turns rows into tombstones that keep a reason (?1), lasting
	// until their Expires, or ReasonTTL (?3) from now (?2) for a reason
	// above store.ReasonExpired.
	sqlBury = `UPDATE sessionguard_sessions SET gone = ?1, version = 0, user_id = NULL, record = NULL,
	successor = NULL, grace_until = NULL,
	expires = CASE WHEN ?1 > 2 THEN max(expires, ?2 + ?3) ELSE expires END`

	sqlDelete = sqlBury + ` WHERE key = ?4 AND gone IS NULL`

	sqlForward = `UPDATE sessionguard_sessions SET version = version + 1, successor = ?2, grace_until = ?3,
	used = ?4 WHERE key = ?1`

	sqlListUser = `SELECT version, successor, grace_until, record FROM sessionguard_sessions
	WHERE user_id = ? AND gone IS NULL AND expires > ?`

	// sqlRevokeOthers* end a user's records outside lineage ?5; they read
	// the index on user_id. sqlRevokeLineage* end those of lineage ?5, over
	// the index on (user_id, lineage): a lineage ended for the bound costs
	// its own rows, not the user's.
	sqlRevokeOthersLive  = sqlBury + ` WHERE user_id = ?4 AND gone IS NULL AND lineage <> ?5 AND expires > ?2`
	sqlRevokeOthersAll   = sqlBury + ` WHERE user_id = ?4 AND gone IS NULL AND lineage <> ?5`
	sqlRevokeLineageLive = sqlBury + ` WHERE user_id = ?4 AND lineage = ?5 AND gone IS NULL AND expires > ?2`
	sqlRevokeLineageAll  = sqlBury + ` WHERE user_id = ?4 AND lineage = ?5 AND gone IS NULL`

	sqlSweep = `DELETE FROM sessionguard_sessions WHERE key IN (
	SELECT key FROM sessionguard_sessions WHERE expires <= ?1 ORDER BY expires LIMIT ?2)`
)

// opError adds the operation and the session's fingerprint to err (never
// the key itself).
func opError(op, key string, err error) error {
	return fmt.Errorf("sqlitestore: %s %s: %w", op, store.Fingerprint(key), err)
}

func (s *Store) check(ctx context.Context, rec *store.Record) error {
	if s == nil || s.writer == nil || s.reader == nil {
		return errors.New("the Store was not made by Open")
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if rec != nil && rec.Key == "" {
		return errors.New("record has an empty key")
	}
	return nil
}

func (s *Store) now() int64 { return s.opts.Now().UnixNano() }

// nullable maps "" to NULL: an anonymous session's user, which the user
// index leaves out, or a record without a successor.
func nullable(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// nanos maps a time to its column: Unix nanoseconds, NULL for zero.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// encode returns the record column of rec. Version, Successor and
// GraceUntil have columns of their own, which are authoritative.
func encode(rec *store.Record) ([]byte, error) {
	c := *rec
	c.Version, c.Successor, c.GraceUntil = 0, "", time.Time{}
	return c.MarshalBinary()
}

// decode reads a row's record column and its own columns. key is the key
// the row was read by, "" when read through another column.
func decode(key string, raw []byte, version int64, successor sql.NullString, grace sql.NullInt64) (*store.Record, error) {
	rec := new(store.Record)
	if err := rec.UnmarshalBinary(raw); err != nil {
		return nil, err
	}
	if key != "" && rec.Key != key {
		return nil, fmt.Errorf("%w: the record is stored under another key", store.ErrCorrupt)
	}
	rec.Version = uint64(version)
	rec.Successor, rec.GraceUntil = successor.String, time.Time{}
	if grace.Valid {
		rec.GraceUntil = time.Unix(0, grace.Int64)
	}
	return rec, nil
}

// queryer is what lookup reads through: the reader pool, or a write
// transaction.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// lookup returns the live record of key, or the error the contract gives
// for a key without one.
func (s *Store) lookup(ctx context.Context, q queryer, key string) (*store.Record, error) {
	var (
		version, expires int64
		gone             sql.NullInt64
		successor        sql.NullString
		grace            sql.NullInt64
		raw              []byte
	)
	err := q.QueryRowContext(ctx, sqlGet, key).Scan(&version, &expires, &gone, &successor, &grace, &raw)
	now := s.now()
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, store.ErrNotFound
	case err != nil:
		return nil, err
	case gone.Valid && expires <= now:
		return nil, store.ErrNotFound // a lapsed tombstone
	case gone.Valid:
		return nil, store.Gone(store.Reason(gone.Int64))
	case expires <= now:
		return nil, store.Gone(store.ReasonExpired)
	}
	return decode(key, raw, version, successor, grace)
}

// Get returns the live record of key. A record past its Expires is a
// [*store.GoneError] with [store.ReasonExpired] until the sweeper removes
// it, then [store.ErrNotFound]; a tombstone in force is a
// [*store.GoneError] with the reason the record ended; a record that does
// not decode is an error wrapping [store.ErrCorrupt].
func (s *Store) Get(ctx context.Context, key string) (*store.Record, error) {
	if err := s.check(ctx, nil); err != nil {
		return nil, opError("get", key, err)
	}
	rec, err := s.lookup(ctx, s.reader, key)
	if err != nil {
		return nil, opError("get", key, err)
	}
	return rec, nil
}

// Create stores rec at version 1 and sets rec.Version. It fails with
// [store.ErrExists] if a live record or a tombstone in force holds
// rec.Key; a dead record or lapsed tombstone there is replaced.
func (s *Store) Create(ctx context.Context, rec *store.Record) error {
	if err := s.check(ctx, rec); err != nil {
		return fmt.Errorf("sqlitestore: create: %w", err)
	}
	raw, err := encode(rec)
	if err != nil {
		return opError("create", rec.Key, err)
	}
	if err := insert(ctx, s.writer, rec, raw, s.now()); err != nil {
		return opError("create", rec.Key, err)
	}
	rec.Version = 1
	return nil
}

// insert adds rec (encoded as raw) at version 1, or fails with
// [store.ErrExists] if a live record or a tombstone in force holds its key.
func insert(ctx context.Context, tx execer, rec *store.Record, raw []byte, now int64) error {
	res, err := tx.ExecContext(ctx, sqlInsert, rec.Key, nullable(rec.UserID), rec.LineageKey(),
		rec.Expires.UnixNano(), nullable(rec.Successor), nanos(rec.GraceUntil), raw, now)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(fmt.Errorf("%w: a live record or a tombstone holds the key", store.ErrExists), err)
	}
	return nil
}

// execer is what insert writes through: the writer, or a write
// transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Update replaces the live record rec.Key if it is at rec.Version, in one
// conditional statement, and sets rec.Version to the new version. It never
// creates a record; it fails with [store.ErrNotFound], a
// [*store.GoneError] or [store.ErrConflict] and writes nothing otherwise.
func (s *Store) Update(ctx context.Context, rec *store.Record) error {
	if err := s.check(ctx, rec); err != nil {
		return fmt.Errorf("sqlitestore: update: %w", err)
	}
	raw, err := encode(rec)
	if err != nil {
		return opError("update", rec.Key, err)
	}
	res, err := s.writer.ExecContext(ctx, sqlUpdate, rec.Key, int64(rec.Version), nullable(rec.UserID),
		rec.LineageKey(), rec.Expires.UnixNano(), nullable(rec.Successor), nanos(rec.GraceUntil), raw, s.now())
	if err != nil {
		return opError("update", rec.Key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return opError("update", rec.Key, err)
	}
	if n == 1 {
		rec.Version++
		return nil
	}
	cur, err := s.lookup(ctx, s.reader, rec.Key)
	if err != nil {
		return opError("update", rec.Key, err)
	}
	return opError("update", rec.Key, fmt.Errorf("%w: stored version %d, loaded %d", store.ErrConflict, cur.Version, rec.Version))
}

// write runs fn in a write transaction (BEGIN IMMEDIATE: it holds the
// file's write lock from the start), committed if fn returns nil.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

// ignoreDone drops the error of a rollback that the driver already made
// (after a cancelled context, for instance).
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// Rotate replaces oldKey, which must be live at oldVersion, by next (at
// version 1), in one transaction. With a zero graceUntil the old key is
// tombstoned with [store.ReasonRenewed]; otherwise the old record stays,
// one version on, as a forwarder to next until graceUntil.
func (s *Store) Rotate(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time) error {
	if err := s.check(ctx, next); err != nil {
		return fmt.Errorf("sqlitestore: rotate: %w", err)
	}
	raw, err := encode(next)
	if err != nil {
		return opError("rotate", oldKey, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if err := s.replace(ctx, tx, oldKey, oldVersion, next, raw, now); err != nil {
			return err
		}
		if graceUntil.IsZero() {
			_, err = tx.ExecContext(ctx, sqlDelete, int64(store.ReasonRenewed), now, int64(store.ReasonTTL), oldKey)
		} else {
			_, err = tx.ExecContext(ctx, sqlForward, oldKey, next.Key, graceUntil.UnixNano(), now)
		}
		return err
	})
	if err != nil {
		return opError("rotate", oldKey, err)
	}
	next.Version = 1
	return nil
}

// replace checks that oldKey is live at oldVersion and inserts next in its
// place; the caller then ends or forwards oldKey in the same transaction.
func (s *Store) replace(ctx context.Context, tx *sql.Tx, oldKey string, oldVersion uint64, next *store.Record, raw []byte, now int64) error {
	old, err := s.lookup(ctx, tx, oldKey)
	if err != nil {
		return err
	}
	if old.Version != oldVersion {
		return fmt.Errorf("%w: stored version %d, loaded %d", store.ErrConflict, old.Version, oldVersion)
	}
	if next.Key == oldKey {
		return fmt.Errorf("%w: the new key is the old one", store.ErrExists)
	}
	if err := insert(ctx, tx, next, raw, now); err != nil {
		return fmt.Errorf("new key %s: %w", store.Fingerprint(next.Key), err)
	}
	return nil
}

// Delete ends the record of key with a tombstone that keeps reason. The
// tombstone lasts until the record's Expires, and for a reason above
// [store.ReasonExpired] at least [store.ReasonTTL] from now. A missing or
// already ended key is not an error and gets no new tombstone.
func (s *Store) Delete(ctx context.Context, key string, reason store.Reason) error {
	if err := s.check(ctx, nil); err != nil {
		return opError("delete", key, err)
	}
	if _, err := s.writer.ExecContext(ctx, sqlDelete, int64(reason), s.now(), int64(store.ReasonTTL), key); err != nil {
		return opError("delete", key, err)
	}
	return nil
}

// ListUser returns the live records of userID, forwarders included, read
// through the index on user_id. An empty userID lists nothing: anonymous
// records are not indexed.
func (s *Store) ListUser(ctx context.Context, userID string) ([]*store.Record, error) {
	if err := s.check(ctx, nil); err != nil {
		return nil, fmt.Errorf("sqlitestore: list user: %w", err)
	}
	if userID == "" {
		return nil, nil
	}
	rows, err := s.reader.QueryContext(ctx, sqlListUser, userID, s.now())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list user: %w", err)
	}
	defer rows.Close()
	var recs []*store.Record
	for rows.Next() {
		var (
			version   int64
			successor sql.NullString
			grace     sql.NullInt64
			raw       []byte
		)
		if err := rows.Scan(&version, &successor, &grace, &raw); err != nil {
			return nil, fmt.Errorf("sqlitestore: list user: %w", err)
		}
		rec, err := decode("", raw, version, successor, grace)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list user: %w", err)
		}
		if rec.UserID != userID {
			return nil, fmt.Errorf("sqlitestore: list user: %w: record %s is indexed under another user",
				store.ErrCorrupt, store.Fingerprint(rec.Key))
		}
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list user: %w", err)
	}
	return recs, nil
}

// RevokeUser ends, with tombstones that keep reason, every record of
// userID whose lineage is not keepLineage ("" keeps none), and writes the
// user's revocation mark, in one transaction; it returns how many live
// records it ended and the mark. Writes are serialized by the file's write
// lock, so no rotation or sign-in can interleave with it. An empty userID
// revokes nothing.
func (s *Store) RevokeUser(ctx context.Context, userID, keepLineage string, reason store.Reason) (store.Revocation, error) {
	return s.revoke(ctx, "revoke user", userID, keepLineage, false, reason)
}

// RevokeLineage ends, with tombstones that keep reason, the records of
// userID whose lineage is lineage, and only those, and returns how many
// live records it ended. It writes no mark.
func (s *Store) RevokeLineage(ctx context.Context, userID, lineage string, reason store.Reason) (int, error) {
	rev, err := s.revoke(ctx, "revoke lineage", userID, lineage, true, reason)
	return rev.Ended, err
}

func (s *Store) revoke(ctx context.Context, op, userID, lineage string, only bool, reason store.Reason) (store.Revocation, error) {
	if err := s.check(ctx, nil); err != nil {
		return store.Revocation{}, fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	if userID == "" {
		return store.Revocation{}, nil
	}
	var rev store.Revocation
	err := s.write(ctx, func(tx *sql.Tx) error {
		now := s.now()
		n, err := revokeRows(ctx, tx, userID, lineage, only, reason, now)
		if err != nil {
			return err
		}
		rev = store.Revocation{Ended: n}
		if only {
			return nil
		}
		rev.Mark, rev.Prior, err = writeMark(ctx, tx, userID, reason, now)
		return err
	})
	if err != nil {
		return store.Revocation{}, fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	return rev, nil
}

// revokeRows ends the records of userID whose lineage is lineage (only) or
// is not lineage (!only), and returns how many of them were live.
func revokeRows(ctx context.Context, tx *sql.Tx, userID, lineage string, only bool, reason store.Reason, now int64) (int, error) {
	args := []any{int64(reason), now, int64(store.ReasonTTL), userID, lineage}
	live, all := sqlRevokeOthersLive, sqlRevokeOthersAll
	if only {
		live, all = sqlRevokeLineageLive, sqlRevokeLineageAll
	}
	res, err := tx.ExecContext(ctx, live, args...)
	if err != nil {
		return 0, err
	}
	ended, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	// Records past their Expires end too, so that they tell why.
	_, err = tx.ExecContext(ctx, all, args...)
	return int(ended), err
}
