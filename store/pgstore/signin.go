package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionguard/sessionguard/store"
)

const sqlSignIn = `SELECT o_status, o_reason, o_sessions, o_ended
	FROM sessionguard_signin($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`

// SignIn implements [store.Store.SignIn] in one transaction and one round
// trip: a call of the schema's sessionguard_signin, at read committed
// whatever the database's default (like the revocations), so that the
// function sees the mark of a revocation it waited for. The function
// reckons the request's start from the statement's arrival
// (statement_timestamp(), before any lock), refuses a sign-in whose
// request began before the user's mark, writes the record, tombstones the
// old one, and, past in.Limit, ends the least recently used lineages it
// finds from the low end of the index on sessionguard_lineages (user_id,
// last_use): it reads the lineages it ends and the count of the user's
// lineages, never the user's records.
func (s *Store) SignIn(ctx context.Context, in *store.SignIn) (store.SignedIn, error) {
	if in == nil || in.Record == nil {
		return store.SignedIn{}, errors.New("pgstore: sign in: no record")
	}
	rec := in.Record
	if err := s.check(ctx, rec); err != nil {
		return store.SignedIn{}, fmt.Errorf("pgstore: sign in: %w", err)
	}
	if rec.UserID == "" {
		return store.SignedIn{}, errors.New("pgstore: sign in: an anonymous record (use Create)")
	}
	back := max(in.Elapsed, 0) + store.SignInMargin
	if back >= store.MarkTTL {
		return store.SignedIn{}, opError("sign in", rec.Key, store.RevokedSince(store.ReasonNone))
	}
	if in.OldKey != "" && !text(in.OldKey) {
		return store.SignedIn{}, opError("sign in", rec.Key, store.ErrNotFound)
	}
	r := *rec
	r.Version = 1
	raw, err := encode(&r)
	if err != nil {
		return store.SignedIn{}, opError("sign in", rec.Key, err)
	}
	var own, prior *time.Time
	if in.Own != nil {
		own = &in.Own.Mark
		if !in.Own.Prior.IsZero() {
			prior = &in.Own.Prior
		}
	}
	var status, reason int16
	var out store.SignedIn
	err = retry(ctx, func() error {
		var sessions int32
		var ended []string
		b := &pgx.Batch{}
		b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
		b.Queue(sqlSignIn, rec.Key, rec.UserID, rec.Expires.UnixNano(), raw, nullable(in.OldKey),
			int64(in.OldVersion), back.Microseconds(), own, prior, int32(max(in.Limit, 0)),
			int16(in.LimitReason), s.now(), int64(store.ReasonTTL)).
			QueryRow(func(row pgx.Row) error { return row.Scan(&status, &reason, &sessions, &ended) })
		b.Queue("COMMIT")
		if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		out = store.SignedIn{Sessions: int(sessions), Ended: ended}
		return nil
	})
	if err != nil {
		return store.SignedIn{}, opError("sign in", rec.Key, err)
	}
	if err := statusErr(status, reason, rec.Key); err != nil {
		return store.SignedIn{}, opError("sign in", rec.Key, err)
	}
	rec.Version = 1
	return out, nil
}
