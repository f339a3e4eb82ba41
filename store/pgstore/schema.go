package pgstore

import (
	"context"
	"fmt"
)

// Schema is the SQL that [Store.CreateTable] runs: three tables, their
// indexes and five functions, all named sessionguard_*, created in the
// first schema of the connection's search_path. Every statement is
// idempotent (IF NOT EXISTS, CREATE OR REPLACE), so it can be run again
// by a newer version of this package, or copied into a migration as it
// is: run on a database of the previous schema (one table), it adds the
// tables of the sign-in write and fills the lineages of the live
// sessions, once.
const Schema = `
CREATE TABLE IF NOT EXISTS sessionguard_sessions (
    key          text PRIMARY KEY, -- hex SHA-256 of the session token (never the token)
    version      bigint NOT NULL,  -- Record.Version; 0 on a tombstone
    user_id      text,             -- Record.UserID; NULL when anonymous, and on a tombstone
    lineage      text NOT NULL,    -- Record.LineageKey()
    expires      bigint NOT NULL,  -- Unix nanoseconds: Record.Expires, or the end of a tombstone
    gone         smallint,         -- NULL on a record; the store.Reason on a tombstone
    successor    text,             -- Record.Successor, NULL if none
    grace_until  bigint,           -- Record.GraceUntil in Unix nanoseconds, NULL if zero
    record       bytea             -- Record.MarshalBinary(); NULL on a tombstone
);
CREATE INDEX IF NOT EXISTS sessionguard_sessions_user
    ON sessionguard_sessions (user_id, lineage) WHERE user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS sessionguard_sessions_expires
    ON sessionguard_sessions (expires);

-- The lineages of each user's records, by last use on the database's clock
-- (clock_timestamp() at the latest write of one of their records): the
-- sign-in counts and bounds a user's sessions here. A lineage leaves when
-- its records end; no tombstone is ever kept in this table, so the index on
-- (user_id, last_use) holds the user's sessions and little else, and the
-- bound reads from its low end only the lineages it ends.
DO $up$
BEGIN
    IF to_regclass('sessionguard_lineages') IS NULL THEN
        CREATE TABLE sessionguard_lineages (
            user_id   text NOT NULL,
            lineage   text NOT NULL,
            last_use  timestamptz NOT NULL,
            PRIMARY KEY (user_id, lineage)
        );
        -- From the previous schema: the live sessions' lineages, as
        -- never used (the bound ends them first).
        INSERT INTO sessionguard_lineages (user_id, lineage, last_use)
            SELECT DISTINCT user_id, lineage, 'epoch'::timestamptz FROM sessionguard_sessions
            WHERE user_id IS NOT NULL AND gone IS NULL
            ON CONFLICT DO NOTHING;
    END IF;
END
$up$;
CREATE INDEX IF NOT EXISTS sessionguard_lineages_use
    ON sessionguard_lineages (user_id, last_use);

-- Each user's revocation mark: when RevokeUser last ran, on the database's
-- clock, and why. A sign-in whose request began before it is refused.
CREATE TABLE IF NOT EXISTS sessionguard_marks (
    user_id  text PRIMARY KEY,
    mark     timestamptz NOT NULL,
    reason   smallint NOT NULL
);

-- sessionguard_used records a write of a record of (p_user, p_lineage):
-- the lineage is listed, used now.
CREATE OR REPLACE FUNCTION sessionguard_used(p_user text, p_lineage text)
RETURNS void LANGUAGE sql AS $fn$
    INSERT INTO sessionguard_lineages AS l (user_id, lineage, last_use)
        SELECT p_user, p_lineage, clock_timestamp() WHERE p_user IS NOT NULL
        ON CONFLICT (user_id, lineage) DO UPDATE SET last_use = GREATEST(l.last_use, EXCLUDED.last_use)
$fn$;

-- sessionguard_unused takes (p_user, p_lineage) out of the lineages once
-- none of its records is left live.
CREATE OR REPLACE FUNCTION sessionguard_unused(p_user text, p_lineage text)
RETURNS void LANGUAGE sql AS $fn$
    DELETE FROM sessionguard_lineages l WHERE l.user_id = p_user AND l.lineage = p_lineage
        AND NOT EXISTS (SELECT 1 FROM sessionguard_sessions s
            WHERE s.user_id = p_user AND s.lineage = p_lineage AND s.gone IS NULL)
$fn$;

-- The functions return a status: 0 done, 1 the new key is taken, 2 gone
-- (o_reason says why), 3 not found, 4 another version.
--
-- A user's records are guarded by a transaction-level advisory lock on
-- (21319, hashtext(user_id)): rotations take it shared, before any row
-- lock; revocations take it exclusive. So a revocation waits for the
-- rotations in flight and then, in a statement with a fresh snapshot, sees
-- the records they made; a rotation that comes later finds its old record
-- already ended.
CREATE OR REPLACE FUNCTION sessionguard_rotate(p_old text, p_version bigint, p_key text,
    p_user text, p_lineage text, p_expires bigint, p_next_successor text, p_next_grace bigint,
    p_record bytea, p_grace_until bigint, p_now bigint,
    OUT o_status smallint, OUT o_reason smallint)
LANGUAGE plpgsql AS $fn$
DECLARE
    old_user text;
    old record;
    uid text;
BEGIN
    o_reason := 0;
    SELECT s.user_id INTO old_user FROM sessionguard_sessions s WHERE s.key = p_old;
    FOR uid IN SELECT DISTINCT x FROM unnest(ARRAY[old_user, p_user]) AS x
            WHERE x IS NOT NULL ORDER BY x LOOP
        PERFORM pg_advisory_xact_lock_shared(21319, hashtext(uid));
    END LOOP;
    SELECT * INTO old FROM sessionguard_sessions s WHERE s.key = p_old FOR UPDATE;
    IF NOT FOUND OR (old.gone IS NOT NULL AND old.expires <= p_now) THEN
        o_status := 3;
        RETURN;
    END IF;
    IF old.gone IS NOT NULL OR old.expires <= p_now THEN
        o_status := 2;
        o_reason := COALESCE(old.gone, 2); -- 2: store.ReasonExpired
        RETURN;
    END IF;
    IF old.version <> p_version OR old.user_id IS DISTINCT FROM old_user THEN
        -- Another version, or another user than the one locked for.
        o_status := 4;
        RETURN;
    END IF;
    INSERT INTO sessionguard_sessions AS s
            (key, version, user_id, lineage, expires, gone, successor, grace_until, record)
        VALUES (p_key, 1, p_user, p_lineage, p_expires, NULL, p_next_successor, p_next_grace, p_record)
        ON CONFLICT (key) DO UPDATE SET version = 1, user_id = EXCLUDED.user_id,
            lineage = EXCLUDED.lineage, expires = EXCLUDED.expires, gone = NULL,
            successor = EXCLUDED.successor, grace_until = EXCLUDED.grace_until,
            record = EXCLUDED.record
        WHERE s.expires <= p_now;
    IF NOT FOUND OR p_key = p_old THEN
        o_status := 1;
        RETURN;
    END IF;
    PERFORM sessionguard_used(p_user, p_lineage);
    IF p_grace_until IS NULL THEN
        UPDATE sessionguard_sessions SET gone = 1, version = 0, user_id = NULL, record = NULL,
                successor = NULL, grace_until = NULL
            WHERE key = p_old;
        IF old.user_id IS NOT NULL AND (old.user_id IS DISTINCT FROM p_user OR old.lineage <> p_lineage) THEN
            PERFORM sessionguard_unused(old.user_id, old.lineage);
        END IF;
    ELSE
        UPDATE sessionguard_sessions SET version = version + 1, successor = p_key,
                grace_until = p_grace_until
            WHERE key = p_old;
    END IF;
    o_status := 0;
END
$fn$;

-- sessionguard_revoke ends the records of p_user whose lineage is p_lineage
-- (p_only) or is not p_lineage (NOT p_only), and returns how many of them
-- were live. The index on (user_id, lineage) finds them.
CREATE OR REPLACE FUNCTION sessionguard_revoke(p_user text, p_lineage text, p_only boolean,
    p_reason smallint, p_now bigint, p_ttl bigint, OUT o_ended integer)
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(21319, hashtext(p_user));
    -- A new statement, so a new snapshot: it sees every record made by a
    -- rotation that held the lock before this function took it. Records
    -- past their Expires end too, so that they tell why, but are not
    -- counted.
    WITH ended AS (
        UPDATE sessionguard_sessions s SET gone = p_reason, version = 0, user_id = NULL, record = NULL,
                successor = NULL, grace_until = NULL,
                expires = CASE WHEN p_reason > 2 THEN GREATEST(s.expires, p_now + p_ttl) ELSE s.expires END
            FROM (SELECT key, expires FROM sessionguard_sessions
                    WHERE user_id = p_user AND gone IS NULL
                        AND CASE WHEN p_only THEN lineage = p_lineage ELSE lineage <> p_lineage END
                    FOR UPDATE) AS o
            WHERE s.key = o.key
            RETURNING o.expires AS was)
    SELECT count(*) FILTER (WHERE was > p_now) INTO o_ended FROM ended;
    DELETE FROM sessionguard_lineages
        WHERE user_id = p_user AND CASE WHEN p_only THEN lineage = p_lineage ELSE lineage <> p_lineage END;
END
$fn$;

-- sessionguard_mark writes p_user's revocation mark, in the transaction of
-- a RevokeUser's sessionguard_revoke (so under its lock): the database's
-- clock, later than the mark it replaces by a microsecond at least. It
-- returns the mark and the prior one (NULL when none, or older than
-- store.MarkTTL).
CREATE OR REPLACE FUNCTION sessionguard_mark(p_user text, p_reason smallint,
    OUT o_mark timestamptz, OUT o_prior timestamptz)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_now timestamptz := clock_timestamp();
BEGIN
    SELECT m.mark INTO o_prior FROM sessionguard_marks m WHERE m.user_id = p_user FOR UPDATE;
    o_mark := GREATEST(v_now, o_prior + interval '1 microsecond');
    INSERT INTO sessionguard_marks AS m (user_id, mark, reason) VALUES (p_user, o_mark, p_reason)
        ON CONFLICT (user_id) DO UPDATE SET mark = EXCLUDED.mark, reason = EXCLUDED.reason;
    IF o_prior <= v_now - ` + markTTL + ` THEN
        o_prior := NULL;
    END IF;
END
$fn$;

` + signInFunction

// lockClass is the first key of the advisory locks the functions take
// ("SG" read as a number); the second is hashtext(user_id). An application
// that uses two-key advisory locks itself should avoid this first key.
const lockClass = 21319

// schemaLock is the advisory lock CreateTable holds, so that instances
// starting together do not run the DDL at the same time (concurrent
// CREATE OR REPLACE FUNCTION fails with "tuple concurrently updated").
const schemaLock = 0

// CreateTable creates the table, indexes and functions of [Schema] if they
// are missing, and replaces the functions with this version's. It holds an
// advisory lock meanwhile, so several instances may call it as they start.
// Teams that manage their schema with a migration tool run [Schema] there
// instead and never call it.
func (s *Store) CreateTable(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: create table: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", int32(lockClass), int32(schemaLock)); err != nil {
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

// markTTL is store.MarkTTL as SQL.
const markTTL = `interval '1 hour'`

// The bound's two reads, on the lineages table alone: how many lineages
// the user has, and the least recently used one before the request's
// start. Both read the user's range of an index and nothing else: the
// lineages' primary key for the count, (user_id, last_use) from its low
// end for the choice (TestBoundReadsStayFlat holds their buffers).
const (
	sqlLineageCount = `SELECT count(*)::integer FROM sessionguard_lineages WHERE user_id = $1`
	sqlLeastUsed    = `SELECT lineage FROM sessionguard_lineages WHERE user_id = $1 AND last_use < $2
        ORDER BY last_use LIMIT 1`
)

// signInFunction is the sign-in write: sessionguard_signin, with the two
// reads of the bound as functions of their own. Its status is
// sessionguard_rotate's, or 5 when the user's mark refuses the sign-in
// (o_reason: the mark's reason, 0 for an own revocation's prior).
//
// Locks are taken in one order by every writer: the user's advisory lock,
// the records' rows, then the lineages' rows. So the bound locks the
// records of the lineage it chose before it deletes the lineage's row,
// and deletes it only if it is still last used before the request's
// start: a use in between (an Update commits its record, then its
// lineage's row) keeps the lineage.
const signInFunction = `CREATE OR REPLACE FUNCTION sessionguard_lineage_count(text)
RETURNS integer LANGUAGE sql STABLE AS $fn$ ` + sqlLineageCount + ` $fn$;

CREATE OR REPLACE FUNCTION sessionguard_least_used(text, timestamptz)
RETURNS text LANGUAGE sql STABLE AS $fn$ ` + sqlLeastUsed + ` $fn$;

CREATE OR REPLACE FUNCTION sessionguard_signin(p_key text, p_user text, p_expires bigint,
    p_record bytea, p_old text, p_old_version bigint, p_back bigint, p_own timestamptz,
    p_own_prior timestamptz, p_limit integer, p_reason smallint, p_now bigint, p_ttl bigint,
    OUT o_status smallint, OUT o_reason smallint, OUT o_sessions integer, OUT o_ended text[])
LANGUAGE plpgsql AS $fn$
DECLARE
    old_user text;
    old record;
    uid text;
    v_used timestamptz;
    v_start timestamptz;
    v_mark record;
    v_lin text;
    v_live integer;
BEGIN
    o_status := 0;
    o_reason := 0;
    o_sessions := 0;
    IF p_old IS NOT NULL THEN
        SELECT s.user_id INTO old_user FROM sessionguard_sessions s WHERE s.key = p_old;
    END IF;
    FOR uid IN SELECT DISTINCT x FROM unnest(ARRAY[old_user, p_user]) AS x
            WHERE x IS NOT NULL ORDER BY x LOOP
        PERFORM pg_advisory_xact_lock_shared(21319, hashtext(uid));
    END LOOP;
    -- The request's start is reckoned from the statement's arrival, before
    -- the lock: a revocation that commits while this call waits for it is
    -- after the start. Its mark is read after the lock, once committed.
    -- The new lineage is used at the database's clock after the lock.
    v_start := statement_timestamp() - p_back * interval '1 microsecond';
    v_used := clock_timestamp();
    SELECT m.mark, m.reason INTO v_mark FROM sessionguard_marks m WHERE m.user_id = p_user;
    IF FOUND AND v_mark.mark > v_used - ` + markTTL + ` AND v_mark.mark >= v_start
            AND v_mark.mark IS DISTINCT FROM p_own THEN
        o_status := 5;
        o_reason := v_mark.reason;
        RETURN;
    END IF;
    IF p_own_prior >= v_start THEN
        o_status := 5;
        RETURN;
    END IF;
    IF p_old IS NOT NULL THEN
        SELECT * INTO old FROM sessionguard_sessions s WHERE s.key = p_old FOR UPDATE;
        IF NOT FOUND OR (old.gone IS NOT NULL AND old.expires <= p_now) THEN
            o_status := 3;
            RETURN;
        END IF;
        IF old.gone IS NOT NULL OR old.expires <= p_now THEN
            o_status := 2;
            o_reason := COALESCE(old.gone, 2);
            RETURN;
        END IF;
        IF old.version <> p_old_version OR old.user_id IS DISTINCT FROM old_user THEN
            o_status := 4;
            RETURN;
        END IF;
    END IF;
    INSERT INTO sessionguard_sessions AS s
            (key, version, user_id, lineage, expires, gone, successor, grace_until, record)
        VALUES (p_key, 1, p_user, p_key, p_expires, NULL, NULL, NULL, p_record)
        ON CONFLICT (key) DO UPDATE SET version = 1, user_id = EXCLUDED.user_id,
            lineage = EXCLUDED.lineage, expires = EXCLUDED.expires, gone = NULL,
            successor = NULL, grace_until = NULL, record = EXCLUDED.record
        WHERE s.expires <= p_now;
    IF NOT FOUND OR p_key = p_old THEN
        o_status := 1;
        RETURN;
    END IF;
    IF p_old IS NOT NULL THEN
        UPDATE sessionguard_sessions SET gone = 1, version = 0, user_id = NULL, record = NULL,
                successor = NULL, grace_until = NULL
            WHERE key = p_old;
        IF old.user_id IS NOT NULL THEN
            PERFORM sessionguard_unused(old.user_id, old.lineage);
        END IF;
    END IF;
    INSERT INTO sessionguard_lineages AS l (user_id, lineage, last_use) VALUES (p_user, p_key, v_used)
        ON CONFLICT (user_id, lineage) DO UPDATE SET last_use = EXCLUDED.last_use;
    o_sessions := sessionguard_lineage_count(p_user);
    WHILE p_limit > 0 AND o_sessions > p_limit LOOP
        v_lin := sessionguard_least_used(p_user, v_start);
        EXIT WHEN v_lin IS NULL;
        PERFORM 1 FROM sessionguard_sessions
            WHERE user_id = p_user AND lineage = v_lin AND gone IS NULL FOR UPDATE;
        DELETE FROM sessionguard_lineages
            WHERE user_id = p_user AND lineage = v_lin AND last_use < v_start;
        IF NOT FOUND THEN
            -- Ended by another sign-in meanwhile (one lineage fewer), or
            -- used since the request began (kept).
            IF NOT EXISTS (SELECT 1 FROM sessionguard_lineages WHERE user_id = p_user AND lineage = v_lin) THEN
                o_sessions := o_sessions - 1;
            END IF;
            CONTINUE;
        END IF;
        WITH ended AS (
            UPDATE sessionguard_sessions s SET gone = p_reason, version = 0, user_id = NULL,
                    record = NULL, successor = NULL, grace_until = NULL,
                    expires = CASE WHEN p_reason > 2 THEN GREATEST(s.expires, p_now + p_ttl) ELSE s.expires END
                WHERE s.user_id = p_user AND s.lineage = v_lin AND s.gone IS NULL
                RETURNING s.key)
        SELECT count(*) INTO v_live FROM ended e JOIN sessionguard_sessions x ON x.key = e.key
            WHERE x.expires > p_now;
        IF v_live > 0 THEN
            o_ended := array_append(o_ended, v_lin);
        END IF;
        o_sessions := o_sessions - 1;
    END LOOP;
END
$fn$;
`
