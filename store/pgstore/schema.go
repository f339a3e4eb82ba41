package pgstore

import (
	"context"
	"fmt"
)

// Schema is the SQL that [Store.CreateTable] runs: two tables, two indexes
// and four functions, all named sessionguard_*, created in the first schema
// of the connection's search_path. Every statement is idempotent (IF NOT
// EXISTS, CREATE OR REPLACE), so it can be run again by a newer version of
// this package, or copied into a migration tool as it is.
const Schema = `
CREATE TABLE IF NOT EXISTS sessionguard_sessions (
    key      text PRIMARY KEY,  -- hex SHA-256 of the session token (never the token)
    version  bigint NOT NULL,   -- Record.Version; 0 on a tombstone
    user_id  text,              -- Record.UserID; NULL when anonymous and on a tombstone
    lineage  text NOT NULL,     -- Record.LineageKey()
    epoch    bigint NOT NULL,   -- the user's revocation epoch the record belongs to
    expires  bigint NOT NULL,   -- Unix nanoseconds: Record.Expires, or the end of a tombstone
    gone     smallint,          -- NULL on a record; the store.Reason on a tombstone
    record   bytea              -- Record.MarshalBinary(); NULL on a tombstone
);
CREATE INDEX IF NOT EXISTS sessionguard_sessions_user
    ON sessionguard_sessions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS sessionguard_sessions_expires
    ON sessionguard_sessions (expires);

CREATE TABLE IF NOT EXISTS sessionguard_users (
    user_id  text PRIMARY KEY,
    epoch    bigint NOT NULL DEFAULT 0,    -- bumped by every RevokeUser
    keep     text NOT NULL DEFAULT '',     -- the lineage the last RevokeUser kept
    reason   smallint NOT NULL DEFAULT 0   -- the store.Reason of the last RevokeUser
);

-- sessionguard_lock_user takes a share lock on the user's row, creating the
-- row if need be, and returns it. Writers of a user's records take it before
-- any session row; RevokeUser's update of the row waits for them, and they
-- for it, so the two never interleave.
CREATE OR REPLACE FUNCTION sessionguard_lock_user(p_user text,
    OUT o_epoch bigint, OUT o_keep text, OUT o_reason smallint)
LANGUAGE plpgsql AS $fn$
BEGIN
    SELECT u.epoch, u.keep, u.reason INTO o_epoch, o_keep, o_reason
        FROM sessionguard_users u WHERE u.user_id = p_user FOR SHARE;
    IF NOT FOUND THEN
        INSERT INTO sessionguard_users (user_id) VALUES (p_user) ON CONFLICT DO NOTHING;
        SELECT u.epoch, u.keep, u.reason INTO o_epoch, o_keep, o_reason
            FROM sessionguard_users u WHERE u.user_id = p_user FOR SHARE;
    END IF;
END
$fn$;

-- Statuses the functions return: 0 done, 1 the key is taken, 2 gone
-- (o_reason says why), 3 not found, 4 another version.
CREATE OR REPLACE FUNCTION sessionguard_create(p_key text, p_user text, p_lineage text,
    p_successor boolean, p_epoch bigint, p_expires bigint, p_record bytea, p_now bigint,
    OUT o_status smallint, OUT o_epoch bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    u record;
BEGIN
    o_epoch := 0;
    IF p_user IS NOT NULL THEN
        SELECT * INTO u FROM sessionguard_lock_user(p_user);
        o_epoch := u.o_epoch;
        -- A successor of a periodic rotation carries its predecessor's epoch:
        -- one made from a revoked record is refused.
        IF p_successor AND p_epoch <> u.o_epoch AND p_lineage <> u.o_keep THEN
            o_status := 2;
            RETURN;
        END IF;
    END IF;
    INSERT INTO sessionguard_sessions AS s (key, version, user_id, lineage, epoch, expires, gone, record)
        VALUES (p_key, 1, p_user, p_lineage, o_epoch, p_expires, NULL, p_record)
        ON CONFLICT (key) DO UPDATE SET version = 1, user_id = EXCLUDED.user_id,
            lineage = EXCLUDED.lineage, epoch = EXCLUDED.epoch, expires = EXCLUDED.expires,
            gone = NULL, record = EXCLUDED.record
        WHERE s.expires <= p_now;
    IF NOT FOUND THEN
        o_status := 1;
        RETURN;
    END IF;
    o_status := 0;
END
$fn$;

CREATE OR REPLACE FUNCTION sessionguard_rotate(p_old text, p_version bigint, p_key text,
    p_user text, p_lineage text, p_expires bigint, p_record bytea, p_now bigint, p_ttl bigint,
    OUT o_status smallint, OUT o_reason smallint, OUT o_epoch bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    old_user text;
    old record;
    u record;
    uid text;
BEGIN
    o_reason := 0;
    o_epoch := 0;
    -- Users' rows are locked before session rows, in user_id order, as
    -- RevokeUser does; the old record's user is read first without a lock.
    SELECT s.user_id INTO old_user FROM sessionguard_sessions s WHERE s.key = p_old;
    FOR uid IN SELECT DISTINCT x FROM unnest(ARRAY[old_user, p_user]) AS x
            WHERE x IS NOT NULL ORDER BY x LOOP
        PERFORM sessionguard_lock_user(uid);
    END LOOP;
    SELECT * INTO old FROM sessionguard_sessions s WHERE s.key = p_old FOR UPDATE;
    IF NOT FOUND OR old.expires <= p_now THEN
        o_status := 3;
        RETURN;
    END IF;
    IF old.gone IS NOT NULL THEN
        o_status := 2;
        o_reason := old.gone;
        RETURN;
    END IF;
    IF old.version <> p_version OR old.user_id IS DISTINCT FROM old_user THEN
        o_status := 4;
        RETURN;
    END IF;
    IF p_key = p_old THEN
        o_status := 1;
        RETURN;
    END IF;
    IF old.user_id IS NOT NULL THEN
        SELECT * INTO u FROM sessionguard_users WHERE user_id = old.user_id;
        IF old.epoch <> u.epoch AND old.lineage <> u.keep THEN
            -- Revoked since it was written: it ends here, and nothing is made from it.
            o_reason := CASE WHEN u.reason = 0 THEN 1 ELSE u.reason END;
            UPDATE sessionguard_sessions SET gone = o_reason, version = 0, user_id = NULL, record = NULL,
                expires = CASE WHEN o_reason > 1 THEN GREATEST(expires, p_now + p_ttl) ELSE expires END
                WHERE key = p_old;
            o_status := 2;
            RETURN;
        END IF;
    END IF;
    IF p_user IS NOT NULL THEN
        SELECT epoch INTO o_epoch FROM sessionguard_users WHERE user_id = p_user;
    END IF;
    INSERT INTO sessionguard_sessions AS s (key, version, user_id, lineage, epoch, expires, gone, record)
        VALUES (p_key, 1, p_user, p_lineage, o_epoch, p_expires, NULL, p_record)
        ON CONFLICT (key) DO UPDATE SET version = 1, user_id = EXCLUDED.user_id,
            lineage = EXCLUDED.lineage, epoch = EXCLUDED.epoch, expires = EXCLUDED.expires,
            gone = NULL, record = EXCLUDED.record
        WHERE s.expires <= p_now;
    IF NOT FOUND THEN
        o_status := 1;
        RETURN;
    END IF;
    UPDATE sessionguard_sessions SET gone = 1, version = 0, user_id = NULL, record = NULL
        WHERE key = p_old;
    o_status := 0;
END
$fn$;

CREATE OR REPLACE FUNCTION sessionguard_revoke_user(p_user text, p_keep text, p_reason smallint,
    p_now bigint, p_ttl bigint, OUT o_ended integer)
LANGUAGE plpgsql AS $fn$
DECLARE
    e bigint;
BEGIN
    INSERT INTO sessionguard_users AS u (user_id, epoch, keep, reason) VALUES (p_user, 1, p_keep, p_reason)
        ON CONFLICT (user_id) DO UPDATE SET epoch = u.epoch + 1, keep = p_keep, reason = p_reason
        RETURNING u.epoch INTO e;
    -- A new statement, so a new snapshot: it sees every record whose writer
    -- held the user's row before this function took it.
    UPDATE sessionguard_sessions SET gone = p_reason, version = 0, user_id = NULL, record = NULL,
        expires = CASE WHEN p_reason > 1 THEN GREATEST(expires, p_now + p_ttl) ELSE expires END
        WHERE user_id = p_user AND gone IS NULL AND expires > p_now AND lineage <> p_keep;
    GET DIAGNOSTICS o_ended = ROW_COUNT;
    UPDATE sessionguard_sessions SET epoch = e
        WHERE user_id = p_user AND gone IS NULL AND lineage = p_keep;
END
$fn$;
`

// schemaLock is the advisory lock CreateTable holds, so that instances
// starting together do not run the DDL at the same time (concurrent CREATE
// OR REPLACE FUNCTION fails with "tuple concurrently updated").
const schemaLock = 0x53475047 // "SGPG"

// CreateTable creates the tables, indexes and functions of [Schema] if
// they are missing, and replaces the functions with this version's. It
// takes an advisory lock for the duration, so several instances may call
// it at start-up. Teams that manage their schema with a migration tool
// run [Schema] there instead and never call it.
func (s *Store) CreateTable(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: create table: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", schemaLock); err != nil {
		return fmt.Errorf("pgstore: create table: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, Schema); err != nil {
		return fmt.Errorf("pgstore: create table: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: create table: %w", err)
	}
	return nil
}
