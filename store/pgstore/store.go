package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/store"
)

// DefaultSweepInterval is the sweep interval a zero Options.SweepInterval
// selects.
const DefaultSweepInterval = time.Minute

// sweepBatch bounds the rows one sweep statement deletes.
const sweepBatch = 1000

// ErrClosed is returned (wrapped) by the methods of a [Store] after
// [Store.Close]. The session manager fails closed on it.
var ErrClosed = errors.New("pgstore: store is closed")

// Options configures [New]. The zero value gives the defaults each field
// documents.
type Options struct {
	// SweepInterval is how often the background sweeper deletes expired
	// records and tombstones. Default one minute. The first sweep runs one
	// interval after New, so that CreateTable may run first. A negative
	// value turns the sweeper off: call [Store.Sweep] yourself (or from a
	// job of your own). Expired records are never returned either way;
	// sweeping only frees space.
	SweepInterval time.Duration

	// Logger receives the errors of the background sweeper, which has no
	// caller to return them to. Default slog.Default().
	Logger *slog.Logger

	// Now returns the current time, against which Expires and tombstones
	// are checked. Default time.Now. The comparison is made with this
	// clock, not the database server's.
	Now func() time.Time
}

// A Store is a [store.Store] kept in PostgreSQL. All methods are safe for
// concurrent use. Make one with [New].
type Store struct {
	pool  db // the caller's pool, retrying serialization failures
	opts  Options
	batch int

	closed    atomic.Bool
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.UserCounter = (*Store)(nil)
)

// New returns a store on pool and starts its sweeper. It does no I/O: the
// table must exist, made by [Store.CreateTable] or by a migration that
// runs [Schema]. The pool stays the caller's: [Store.Close] does not close
// it.
func New(pool *pgxpool.Pool, opts Options) *Store {
	if opts.SweepInterval == 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{pool: db{pool}, opts: opts, batch: sweepBatch}
	if opts.SweepInterval > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.cancel, s.done = cancel, make(chan struct{})
		go s.sweepLoop(ctx, opts.SweepInterval)
	}
	return s
}

// Close stops the sweeper and waits for a sweep in progress to stop. Later
// calls of the store's methods fail with [ErrClosed]. It does not close the
// pool. It is idempotent and returns nil.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.cancel != nil {
			s.cancel()
			<-s.done
		}
	})
	return nil
}

// Statuses returned by the functions of the schema.
const (
	statusDone     = 0
	statusTaken    = 1
	statusGone     = 2
	statusNotFound = 3
	statusConflict = 4
)

const (
	sqlGet = `SELECT version, expires, gone, successor, grace_until, record
	FROM sessionguard_sessions WHERE key = $1`

	sqlCreate = `INSERT INTO sessionguard_sessions AS s
	(key, version, user_id, lineage, expires, gone, successor, grace_until, record)
	VALUES ($1, 1, $2, $3, $4, NULL, $5, $6, $7)
	ON CONFLICT (key) DO UPDATE SET version = 1, user_id = EXCLUDED.user_id,
		lineage = EXCLUDED.lineage, expires = EXCLUDED.expires, gone = NULL,
		successor = EXCLUDED.successor, grace_until = EXCLUDED.grace_until, record = EXCLUDED.record
	WHERE s.expires <= $8`

	// sqlCreateCounting is sqlCreate, which also counts the user's live
	// records over the user index (none for an anonymous record). Every
	// part of a statement reads the same snapshot, so the count leaves out
	// the row the statement inserts.
	sqlCreateCounting = `WITH ins AS (` + sqlCreate + ` RETURNING 1)
	SELECT (SELECT count(*) FROM ins),
		(SELECT count(*) FROM sessionguard_sessions WHERE user_id = $2 AND gone IS NULL AND ` + liveAt8 + `)`

	// The statements that look at one user's rows test their Expires as
	// expires + 0, which no index holds: the planner then reads the user
	// index alone. Given expires > $n, it would also read the expires index,
	// which holds every live session, whenever its statistics lag behind a
	// burst of sign-ins (TestPerUserStatementsUseTheUserIndex).
	liveAt2  = `expires + 0 > $2`
	liveAt8  = `expires + 0 > $8`
	liveAt11 = `expires + 0 > $11`

	sqlUpdate = `UPDATE sessionguard_sessions SET version = version + 1, user_id = $3, lineage = $4,
	expires = $5, successor = $6, grace_until = $7, record = $8
	WHERE key = $1 AND version = $2 AND gone IS NULL AND expires > $9
	RETURNING version`

	sqlRotate = `SELECT o_status, o_reason FROM sessionguard_rotate($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

	// sqlRotateCounting is sqlRotate, which also counts the user's live
	// records as they were when the statement began: the function's own
	// writes are not seen, so the new record is not counted, and an old
	// record of the same user is.
	sqlRotateCounting = `SELECT o_status, o_reason,
		(SELECT count(*) FROM sessionguard_sessions WHERE user_id = $4 AND gone IS NULL AND ` + liveAt11 + `)
	FROM sessionguard_rotate($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

	sqlDelete = `UPDATE sessionguard_sessions SET gone = $2::smallint, version = 0, user_id = NULL, record = NULL,
	successor = NULL, grace_until = NULL,
	expires = CASE WHEN $2::smallint > 2 THEN GREATEST(expires, $3::bigint + $4::bigint) ELSE expires END
	WHERE key = $1 AND gone IS NULL`

	sqlListUser = `SELECT version, successor, grace_until, record FROM sessionguard_sessions
	WHERE user_id = $1 AND gone IS NULL AND ` + liveAt2

	sqlRevoke = `SELECT o_ended FROM sessionguard_revoke($1, $2, $3, $4, $5, $6)`

	sqlSweep = `DELETE FROM sessionguard_sessions WHERE key IN (
	SELECT key FROM sessionguard_sessions WHERE expires <= $1 ORDER BY expires LIMIT $2
	FOR UPDATE SKIP LOCKED) AND expires <= $1`
)

// opError adds the operation and the session's fingerprint to err (never
// the key itself).
func opError(op, key string, err error) error {
	return fmt.Errorf("pgstore: %s %s: %w", op, store.Fingerprint(key), err)
}

// errText is the error for a user ID or key PostgreSQL's text type cannot
// hold.
var errText = errors.New("pgstore: user IDs and keys must be UTF-8 text without NUL bytes (PostgreSQL text)")

// text reports whether PostgreSQL's text type can hold v.
func text(v string) bool { return utf8.ValidString(v) && !strings.ContainsRune(v, 0) }

func (s *Store) check(ctx context.Context, rec *store.Record) error {
	if s == nil || s.pool.Pool == nil {
		return errors.New("pgstore: the Store was not made by New")
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if rec == nil {
		return nil
	}
	if rec.Key == "" {
		return errors.New("record has an empty key")
	}
	if !text(rec.Key) || !text(rec.UserID) || !text(rec.Lineage) || !text(rec.Successor) {
		return errText
	}
	return nil
}

func (s *Store) now() int64 { return s.opts.Now().UnixNano() }

// nullable maps "" to NULL: an anonymous session's user, which the user
// index leaves out, or a record without a successor.
func nullable(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// nanos maps a time to its column: Unix nanoseconds, NULL for the zero
// time.
func nanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// encode returns the record column of rec. Version, Successor and
// GraceUntil live in columns of their own (a rotation with grace changes
// them in SQL), which are authoritative.
func encode(rec *store.Record) ([]byte, error) {
	c := *rec
	c.Version, c.Successor, c.GraceUntil = 0, "", time.Time{}
	return c.MarshalBinary()
}

// decode reads the record column of a row and its own columns. key is the
// key the row was read by, "" when read by another column.
func decode(key string, raw []byte, version int64, successor *string, grace *int64) (*store.Record, error) {
	rec := new(store.Record)
	if err := rec.UnmarshalBinary(raw); err != nil {
		return nil, err
	}
	if key != "" && rec.Key != key {
		return nil, fmt.Errorf("%w: the record is stored under another key", store.ErrCorrupt)
	}
	rec.Version = uint64(version)
	rec.Successor, rec.GraceUntil = "", time.Time{}
	if successor != nil {
		rec.Successor = *successor
	}
	if grace != nil {
		rec.GraceUntil = time.Unix(0, *grace)
	}
	return rec, nil
}

// Get returns the live record of key in one query. A record past its
// Expires is a [*store.GoneError] with [store.ReasonExpired] until the
// sweeper removes it, then [store.ErrNotFound]; a tombstone in force is a
// [*store.GoneError] with the reason the record ended; a record that does
// not decode is an error wrapping [store.ErrCorrupt].
func (s *Store) Get(ctx context.Context, key string) (*store.Record, error) {
	if err := s.check(ctx, nil); err != nil {
		return nil, opError("get", key, err)
	}
	if !text(key) {
		return nil, opError("get", key, store.ErrNotFound) // no such key can be stored
	}
	var (
		version, expires int64
		gone             *int16
		successor        *string
		grace            *int64
		raw              []byte
	)
	err := s.pool.QueryRow(ctx, sqlGet, key).Scan(&version, &expires, &gone, &successor, &grace, &raw)
	now := s.now()
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, opError("get", key, store.ErrNotFound)
	case err != nil:
		return nil, opError("get", key, err)
	case gone != nil && expires <= now:
		return nil, opError("get", key, store.ErrNotFound) // a lapsed tombstone
	case gone != nil:
		return nil, opError("get", key, store.Gone(store.Reason(*gone)))
	case expires <= now:
		return nil, opError("get", key, store.Gone(store.ReasonExpired))
	}
	rec, err := decode(key, raw, version, successor, grace)
	if err != nil {
		return nil, opError("get", key, err)
	}
	return rec, nil
}

// Create stores rec at version 1 and sets rec.Version, in one statement.
// It fails with [store.ErrExists] if a live record or a tombstone in force
// holds rec.Key; a dead record or lapsed tombstone there is replaced.
func (s *Store) Create(ctx context.Context, rec *store.Record) error {
	_, err := s.create(ctx, rec, false)
	return err
}

// CreateCounting is [Store.Create], which also returns, for a signed-in
// record, an upper bound on the user's sessions after the write (see
// [store.UserCounter]): the same one statement, which counts the user's
// live records over the user index.
func (s *Store) CreateCounting(ctx context.Context, rec *store.Record) (int, error) {
	return s.create(ctx, rec, true)
}

func (s *Store) create(ctx context.Context, rec *store.Record, counting bool) (int, error) {
	if err := s.check(ctx, rec); err != nil {
		return 0, fmt.Errorf("pgstore: create: %w", err)
	}
	raw, err := encode(rec)
	if err != nil {
		return 0, opError("create", rec.Key, err)
	}
	args := []any{rec.Key, nullable(rec.UserID), rec.LineageKey(), rec.Expires.UnixNano(),
		nullable(rec.Successor), nanos(rec.GraceUntil), raw, s.now()}
	var created, others int64
	if counting {
		err = s.pool.QueryRow(ctx, sqlCreateCounting, args...).Scan(&created, &others)
	} else {
		var tag pgconn.CommandTag
		tag, err = s.pool.Exec(ctx, sqlCreate, args...)
		created = tag.RowsAffected()
	}
	if err != nil {
		return 0, opError("create", rec.Key, err)
	}
	if created == 0 {
		return 0, opError("create", rec.Key, fmt.Errorf("%w: a live record or a tombstone holds the key", store.ErrExists))
	}
	rec.Version = 1
	return counted(rec.UserID, others), nil
}

// counted is what CreateCounting and RotateCounting answer: 0 for an
// anonymous record, else others, the user's live records their statement
// saw, which leaves out the record it writes, plus that record.
func counted(userID string, others int64) int {
	if userID == "" {
		return 0
	}
	return int(others) + 1
}

// Update replaces the live record rec.Key if it is at rec.Version, in one
// conditional statement, then sets rec.Version to the new version. It
// never creates a record. When nothing matched, a second query finds out
// why: [store.ErrNotFound], a [*store.GoneError] or [store.ErrConflict].
func (s *Store) Update(ctx context.Context, rec *store.Record) error {
	if err := s.check(ctx, rec); err != nil {
		return fmt.Errorf("pgstore: update: %w", err)
	}
	raw, err := encode(rec)
	if err != nil {
		return opError("update", rec.Key, err)
	}
	var version int64
	err = s.pool.QueryRow(ctx, sqlUpdate, rec.Key, int64(rec.Version), nullable(rec.UserID), rec.LineageKey(),
		rec.Expires.UnixNano(), nullable(rec.Successor), nanos(rec.GraceUntil), raw, s.now()).Scan(&version)
	switch {
	case err == nil:
		rec.Version = uint64(version)
		return nil
	case !errors.Is(err, pgx.ErrNoRows):
		return opError("update", rec.Key, err)
	}
	cur, err := s.Get(ctx, rec.Key)
	if err != nil {
		return opError("update", rec.Key, errors.Unwrap(err))
	}
	return opError("update", rec.Key, fmt.Errorf("%w: stored version %d, loaded %d", store.ErrConflict, cur.Version, rec.Version))
}

// Rotate replaces oldKey, which must be live at oldVersion, by next (at
// version 1), in one transaction: a single call of the schema's
// sessionguard_rotate function, one round trip. With a zero graceUntil the
// old key is tombstoned with [store.ReasonRenewed]; otherwise the old
// record stays, one version on, as a forwarder to next until graceUntil.
func (s *Store) Rotate(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time) error {
	_, err := s.rotate(ctx, oldKey, oldVersion, next, graceUntil, false)
	return err
}

// RotateCounting is [Store.Rotate], which also returns, for a signed-in
// next, an upper bound on the user's sessions after the write (see
// [store.UserCounter]), counted in the same statement.
func (s *Store) RotateCounting(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time) (int, error) {
	return s.rotate(ctx, oldKey, oldVersion, next, graceUntil, true)
}

func (s *Store) rotate(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time, counting bool) (int, error) {
	if err := s.check(ctx, next); err != nil {
		return 0, fmt.Errorf("pgstore: rotate: %w", err)
	}
	raw, err := encode(next)
	if err != nil {
		return 0, opError("rotate", oldKey, err)
	}
	args := []any{oldKey, int64(oldVersion), next.Key, nullable(next.UserID),
		next.LineageKey(), next.Expires.UnixNano(), nullable(next.Successor), nanos(next.GraceUntil), raw,
		nanos(graceUntil), s.now()}
	var status, reason int16
	var others int64
	if counting {
		err = s.pool.QueryRow(ctx, sqlRotateCounting, args...).Scan(&status, &reason, &others)
	} else {
		err = s.pool.QueryRow(ctx, sqlRotate, args...).Scan(&status, &reason)
	}
	if err != nil {
		return 0, opError("rotate", oldKey, err)
	}
	switch status {
	case statusDone:
		next.Version = 1
		return counted(next.UserID, others), nil
	case statusTaken:
		return 0, opError("rotate", oldKey, fmt.Errorf("new key %s: %w", store.Fingerprint(next.Key), store.ErrExists))
	case statusGone:
		return 0, opError("rotate", oldKey, store.Gone(store.Reason(reason)))
	case statusNotFound:
		return 0, opError("rotate", oldKey, store.ErrNotFound)
	case statusConflict:
		return 0, opError("rotate", oldKey, store.ErrConflict)
	}
	return 0, opError("rotate", oldKey, fmt.Errorf("unexpected status %d", status))
}

// Delete ends the record of key with a tombstone that keeps reason, in one
// statement. The tombstone lasts until the record's Expires, and for a
// reason above [store.ReasonExpired] at least [store.ReasonTTL] from now.
// A missing or already ended key is not an error and gets no new
// tombstone.
func (s *Store) Delete(ctx context.Context, key string, reason store.Reason) error {
	if err := s.check(ctx, nil); err != nil {
		return opError("delete", key, err)
	}
	if !text(key) {
		return nil // no such key can be stored
	}
	if _, err := s.pool.Exec(ctx, sqlDelete, key, int16(reason), s.now(), int64(store.ReasonTTL)); err != nil {
		return opError("delete", key, err)
	}
	return nil
}

// ListUser returns the live records of userID, forwarders included, read
// through the index on user_id in one query. An empty userID lists
// nothing: anonymous records are not indexed.
func (s *Store) ListUser(ctx context.Context, userID string) ([]*store.Record, error) {
	if err := s.check(ctx, nil); err != nil {
		return nil, fmt.Errorf("pgstore: list user: %w", err)
	}
	if userID == "" || !text(userID) {
		return nil, nil // anonymous, or no such user can be stored
	}
	var recs []*store.Record
	err := retry(ctx, func() error {
		var err error
		recs, err = s.listUser(ctx, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: list user: %w", err)
	}
	return recs, nil
}

// listUser is one run of ListUser's query.
func (s *Store) listUser(ctx context.Context, userID string) ([]*store.Record, error) {
	rows, err := s.pool.Query(ctx, sqlListUser, userID, s.now())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var recs []*store.Record
	for rows.Next() {
		var (
			version   int64
			successor *string
			grace     *int64
			raw       []byte
		)
		if err := rows.Scan(&version, &successor, &grace, &raw); err != nil {
			return nil, err
		}
		rec, err := decode("", raw, version, successor, grace)
		if err != nil {
			return nil, err
		}
		if rec.UserID != userID {
			return nil, fmt.Errorf("%w: record %s is indexed under another user",
				store.ErrCorrupt, store.Fingerprint(rec.Key))
		}
		recs = append(recs, rec)
	}
	return recs, rows.Err()
}

// RevokeUser ends, with tombstones that keep reason, every record of
// userID whose lineage is not keepLineage ("" keeps none), in one
// transaction (one call of sessionguard_revoke), and returns how many live
// records it ended. It waits for the rotations of the user's records in
// flight and ends what they made; a rotation that comes after it finds its
// old record ended. An empty userID revokes nothing.
func (s *Store) RevokeUser(ctx context.Context, userID, keepLineage string, reason store.Reason) (int, error) {
	return s.revoke(ctx, "revoke user", userID, keepLineage, false, reason)
}

// RevokeLineage is [Store.RevokeUser] for the records of userID whose
// lineage is lineage, and only those.
func (s *Store) RevokeLineage(ctx context.Context, userID, lineage string, reason store.Reason) (int, error) {
	return s.revoke(ctx, "revoke lineage", userID, lineage, true, reason)
}

func (s *Store) revoke(ctx context.Context, op, userID, lineage string, only bool, reason store.Reason) (int, error) {
	if err := s.check(ctx, nil); err != nil {
		return 0, fmt.Errorf("pgstore: %s: %w", op, err)
	}
	if userID == "" || !text(userID) {
		return 0, nil
	}
	if !text(lineage) {
		return 0, fmt.Errorf("pgstore: %s: %w", op, errText)
	}
	var n int32
	err := retry(ctx, func() error {
		// sessionguard_revoke must read the user's records with a snapshot
		// taken after it has waited for the rotations in flight, which
		// only read committed gives: at repeatable read or serializable the
		// snapshot of the call's statement is older, and a record committed
		// meanwhile would escape. The level is set for this transaction,
		// whatever the default, in the same round trip.
		b := &pgx.Batch{}
		b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
		b.Queue(sqlRevoke, userID, lineage, only, int16(reason), s.now(), int64(store.ReasonTTL)).
			QueryRow(func(row pgx.Row) error { return row.Scan(&n) })
		b.Queue("COMMIT")
		return s.pool.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: %s: %w", op, err)
	}
	return int(n), nil
}
