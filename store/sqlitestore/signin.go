package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

const (
	sqlMark      = `SELECT at, reason FROM sessionguard_marks WHERE user_id = ?`
	sqlWriteMark = `INSERT INTO sessionguard_marks (user_id, at, reason) VALUES (?1, ?2, ?3)
	ON CONFLICT (user_id) DO UPDATE SET at = excluded.at, reason = excluded.reason`
	sqlSweepMarks = `DELETE FROM sessionguard_marks WHERE at <= ?`

	// sqlLineages counts a user's lineages over the lineages table's key.
	sqlLineages = `SELECT count(*) FROM sessionguard_lineages WHERE user_id = ?`
	// sqlLeastUsed reads a user's lineages last used before ?2, other than
	// ?3, least recently used first, over the index on (user_id, used).
	sqlLeastUsed = `SELECT lineage FROM sessionguard_lineages
	WHERE user_id = ?1 AND used < ?2 AND lineage <> ?3 ORDER BY used LIMIT ?4`
	sqlLineageLive = `SELECT count(*) FROM sessionguard_sessions
	WHERE user_id = ?1 AND lineage = ?2 AND gone IS NULL AND expires > ?3`
	sqlDropLineage = `DELETE FROM sessionguard_lineages WHERE user_id = ?1 AND lineage = ?2`
)

// mark returns userID's revocation mark unless it is older than
// store.MarkTTL at now.
func mark(ctx context.Context, tx *sql.Tx, userID string, now int64) (at int64, reason store.Reason, ok bool, err error) {
	var r int64
	err = tx.QueryRowContext(ctx, sqlMark, userID).Scan(&at, &r)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, 0, false, nil
	case err != nil:
		return 0, 0, false, err
	case at+int64(store.MarkTTL) <= now:
		return 0, 0, false, nil
	}
	return at, store.Reason(r), true, nil
}

// writeMark writes userID's revocation mark at now, later than the one it
// replaces, and returns both.
func writeMark(ctx context.Context, tx *sql.Tx, userID string, reason store.Reason, now int64) (at, prior time.Time, err error) {
	prev, _, ok, err := mark(ctx, tx, userID, now)
	if err != nil {
		return at, prior, err
	}
	n := now
	if ok {
		prior = time.Unix(0, prev)
		n = max(n, prev+1)
	}
	if _, err := tx.ExecContext(ctx, sqlWriteMark, userID, n, int64(reason)); err != nil {
		return at, prior, fmt.Errorf("write revocation mark: %w", err)
	}
	return time.Unix(0, n), prior, nil
}

// revokedSince refuses a sign-in whose request began at start if a
// revocation of the user came at or after it, or if it began so long ago
// that a mark about it may be gone.
func revokedSince(ctx context.Context, tx *sql.Tx, userID string, in *store.SignIn, start, now int64) error {
	if max(in.Elapsed, 0)+store.SignInMargin >= store.MarkTTL {
		return store.RevokedSince(store.ReasonNone)
	}
	at, reason, ok, err := mark(ctx, tx, userID, now)
	if err != nil {
		return err
	}
	if ok && at >= start && (in.Own == nil || at != in.Own.Mark.UnixNano()) {
		return store.RevokedSince(reason)
	}
	if in.Own != nil && !in.Own.Prior.IsZero() && in.Own.Prior.UnixNano() >= start {
		return store.RevokedSince(store.ReasonNone)
	}
	return nil
}

// SignIn implements [store.Store.SignIn] in one write transaction: the
// revocation check against the user's mark, the write (Create's or
// Rotate's, as in.OldKey says), and the bound, which reads the user's
// least recently used lineages over the index on (user_id, used) and
// stops at the first one it need not end.
func (s *Store) SignIn(ctx context.Context, in *store.SignIn) (store.SignedIn, error) {
	if in == nil || in.Record == nil || in.Record.UserID == "" {
		return store.SignedIn{}, errors.New("sqlitestore: sign in: a record with a user is needed")
	}
	rec := in.Record
	if err := s.check(ctx, rec); err != nil {
		return store.SignedIn{}, fmt.Errorf("sqlitestore: sign in: %w", err)
	}
	raw, err := encode(rec)
	if err != nil {
		return store.SignedIn{}, opError("sign in", rec.Key, err)
	}
	// The request's start is reckoned from the arrival, not from when the
	// write lock is taken: a revocation committed meanwhile counts.
	start := s.now() - int64(max(in.Elapsed, 0)) - int64(store.SignInMargin)
	var out store.SignedIn
	err = s.write(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if err := revokedSince(ctx, tx, rec.UserID, in, start, now); err != nil {
			return err
		}
		if err := s.signInWrite(ctx, tx, in, raw, now); err != nil {
			return err
		}
		out, err = bound(ctx, tx, rec, in, start, now)
		return err
	})
	if err != nil {
		return store.SignedIn{}, opError("sign in", rec.Key, err)
	}
	rec.Version = 1
	return out, nil
}

// signInWrite inserts in.Record, replacing in.OldKey when set.
func (s *Store) signInWrite(ctx context.Context, tx *sql.Tx, in *store.SignIn, raw []byte, now int64) error {
	if in.OldKey == "" {
		return insert(ctx, tx, in.Record, raw, now)
	}
	if err := s.replace(ctx, tx, in.OldKey, in.OldVersion, in.Record, raw, now); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, sqlDelete, int64(store.ReasonRenewed), now, int64(store.ReasonTTL), in.OldKey)
	return err
}

// bound ends the least recently used lineages of rec's user past in.Limit,
// never rec's own nor one last used at or after start.
func bound(ctx context.Context, tx *sql.Tx, rec *store.Record, in *store.SignIn, start, now int64) (store.SignedIn, error) {
	var n int
	if err := tx.QueryRowContext(ctx, sqlLineages, rec.UserID).Scan(&n); err != nil {
		return store.SignedIn{}, err
	}
	if in.Limit <= 0 || n <= in.Limit {
		return store.SignedIn{Sessions: n}, nil
	}
	lineages, err := leastUsed(ctx, tx, rec, start, n-in.Limit)
	if err != nil {
		return store.SignedIn{}, err
	}
	var ended []string
	for _, lk := range lineages {
		var live int
		if err := tx.QueryRowContext(ctx, sqlLineageLive, rec.UserID, lk, now).Scan(&live); err != nil {
			return store.SignedIn{}, err
		}
		if live > 0 {
			if _, err := revokeRows(ctx, tx, rec.UserID, lk, true, in.LimitReason, now); err != nil {
				return store.SignedIn{}, err
			}
			ended = append(ended, lk)
		}
		// Ending the rows removed the lineage (a trigger); an expired one
		// is dropped here, its rows left to the sweeper.
		if _, err := tx.ExecContext(ctx, sqlDropLineage, rec.UserID, lk); err != nil {
			return store.SignedIn{}, err
		}
		n--
	}
	return store.SignedIn{Sessions: n, Ended: ended}, nil
}

// leastUsed reads up to limit lineages of rec's user last used before
// start, other than rec's, least recently used first.
func leastUsed(ctx context.Context, tx *sql.Tx, rec *store.Record, start int64, limit int) ([]string, error) {
	rows, err := tx.QueryContext(ctx, sqlLeastUsed, rec.UserID, start, rec.LineageKey(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var lk string
		if err := rows.Scan(&lk); err != nil {
			return nil, err
		}
		out = append(out, lk)
	}
	return out, rows.Err()
}
