-- The schema of pgstore before the sign-in write (one table), as CreateTable made it.

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
    IF p_grace_until IS NULL THEN
        UPDATE sessionguard_sessions SET gone = 1, version = 0, user_id = NULL, record = NULL,
                successor = NULL, grace_until = NULL
            WHERE key = p_old;
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
END
$fn$;
