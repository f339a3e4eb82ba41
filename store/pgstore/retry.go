package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Every statement of the store is a transaction of its own, run at the
// database's default isolation level. At read committed (PostgreSQL's
// default) a conditional UPDATE that meets a row another transaction has
// just changed re-reads it and decides on the new version. At repeatable
// read or serializable (default_transaction_isolation set on the server,
// the database, the role or the connection) it fails instead with
// SQLSTATE 40001, serialization_failure, and a renewal racing a
// revocation, or two requests of one session, would fail the request.
// The failed statement changed nothing, so the store runs it again, on a
// fresh snapshot, where read committed would have re-read the row: the
// contract's answers are the same under every level.

// Retry bounds: up to maxAttempts runs of a statement, with a random pause
// between runs that starts around firstPause and doubles up to maxPause.
// Contention on one row is what fails them, so pauses spread the racers
// out; the bound keeps a request from waiting forever (a statement that
// fails every time gives up after about 1.2 seconds,
// TestSerializationRetriesAreBounded).
const (
	maxAttempts = 30
	firstPause  = time.Millisecond
	maxPause    = 50 * time.Millisecond
)

// ErrSerialization is returned (wrapped, with PostgreSQL's error) when a
// statement still failed with a serialization failure or a deadlock after
// the store's retries: so much contention on one session that the store
// gave up rather than make the request wait longer. The statement changed
// nothing.
var ErrSerialization = errors.New("pgstore: statement kept failing with serialization failures")

// retryable reports whether err is a failure PostgreSQL asks the client to
// retry: serialization_failure (40001) or deadlock_detected (40P01).
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// retry runs f until it does not fail with a retryable error, at most
// maxAttempts times, pausing between runs; it stops early, with the last
// error, when ctx ends.
func retry(ctx context.Context, f func() error) error {
	pause := firstPause
	for attempt := 1; ; attempt++ {
		err := f()
		if !retryable(err) {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("%w (%d attempts): %w", ErrSerialization, attempt, err)
		}
		t := time.NewTimer(pause/2 + rand.N(pause))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, maxPause)
	}
}

// db is the store's pool, whose QueryRow and Exec retry serialization
// failures (see retry). Other methods are the pool's own.
type db struct{ *pgxpool.Pool }

// QueryRow returns a row whose Scan runs the query, again while it fails
// with a retryable error.
func (d db) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return retryRow{ctx: ctx, pool: d.Pool, sql: sql, args: args}
}

// Exec runs the statement, again while it fails with a retryable error.
func (d db) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := retry(ctx, func() error {
		var err error
		tag, err = d.Pool.Exec(ctx, sql, args...)
		return err
	})
	return tag, err
}

type retryRow struct {
	ctx  context.Context
	pool *pgxpool.Pool
	sql  string
	args []any
}

func (r retryRow) Scan(dest ...any) error {
	return retry(r.ctx, func() error { return r.pool.QueryRow(r.ctx, r.sql, r.args...).Scan(dest...) })
}
