package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
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
	// records and tombstones. Default one minute; the first sweep runs at
	// once. A negative value turns the sweeper off: call [Store.Sweep]
	// yourself (or from a cron job of your own). Expired records are never
	// returned either way; sweeping only frees space.
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
	pool  *pgxpool.Pool
	opts  Options
	batch int

	closed    atomic.Bool
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// New returns a store on pool and starts its sweeper. It does no I/O: the
// tables must exist, made by [Store.CreateTable] or by a migration that
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
	s := &Store{pool: pool, opts: opts, batch: sweepBatch}
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
	sqlGet = `SELECT version, epoch, expires, gone, record FROM sessionguard_sessions WHERE key = $1`

	sqlCreate = `SELECT o_status, o_epoch FROM sessionguard_create($1, $2, $3, $4, $5, $6, $7, $8)`

	sqlUpdate = `UPDATE sessionguard_sessions SET version = version + 1, user_id = $3, lineage = $4,
	expires = $5, record = $6
	WHERE key = $1 AND version = $2 AND gone IS NULL AND expires > $7
	RETURNING version, epoch`

	sqlRotate = `SELECT o_status, o_reason, o_epoch FROM sessionguard_rotate($1, $2, $3, $4, $5, $6, $7, $8, $9)`

	sqlDelete = `UPDATE sessionguard_sessions SET gone = $2::smallint, version = 0, user_id = NULL, record = NULL,
	expires = CASE WHEN $2::smallint > 1 THEN GREATEST(expires, $3::bigint + $4::bigint) ELSE expires END
	WHERE key = $1 AND gone IS NULL AND expires > $3`

	sqlListUser = `SELECT version, epoch, record FROM sessionguard_sessions
	WHERE user_id = $1 AND gone IS NULL AND expires > $2`

	sqlRevokeUser = `SELECT o_ended FROM sessionguard_revoke_user($1, $2, $3, $4, $5)`

	sqlSweep = `DELETE FROM sessionguard_sessions WHERE key IN (
	SELECT key FROM sessionguard_sessions WHERE expires <= $1 ORDER BY expires LIMIT $2
	FOR UPDATE SKIP LOCKED) AND expires <= $1`
)

// opError adds the operation and the session's fingerprint to err (never
// the key itself).
func opError(op, key string, err error) error {
	return fmt.Errorf("pgstore: %s %s: %w", op, store.Fingerprint(key), err)
}

func (s *Store) check(ctx context.Context, rec *store.Record) error {
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

// nullable maps an anonymous session's "" to NULL, which the user index
// leaves out.
func nullable(userID string) *string {
	if userID == "" {
		return nil
	}
	return &userID
}

// encode returns the record column of rec. Version and Epoch live in their
// own columns, which are authoritative.
func encode(rec *store.Record) ([]byte, error) {
	c := *rec
	c.Version, c.Epoch = 0, 0
	return c.MarshalBinary()
}

// decode reads a record column and the version and epoch columns of key's
// row.
func decode(key string, raw []byte, version, epoch int64) (*store.Record, error) {
	rec := new(store.Record)
	if err := rec.UnmarshalBinary(raw); err != nil {
		return nil, err
	}
	if key != "" && rec.Key != key {
		return nil, fmt.Errorf("%w: the record is stored under another key", store.ErrCorrupt)
	}
	rec.Version, rec.Epoch = uint64(version), uint64(epoch)
	return rec, nil
}

// Get returns the live record of key in one query. A record past its
// Expires is [store.ErrNotFound] whether or not it has been swept; a
// tombstone in force is a [*store.GoneError] with the reason it was ended;
// a record that does not decode is an error wrapping [store.ErrCorrupt].
func (s *Store) Get(ctx context.Context, key string) (*store.Record, error) {
	if err := s.check(ctx, nil); err != nil {
		return nil, opError("get", key, err)
	}
	var (
		version, epoch, expires int64
		gone                    *int16
		raw                     []byte
	)
	err := s.pool.QueryRow(ctx, sqlGet, key).Scan(&version, &epoch, &expires, &gone, &raw)
	now := s.now()
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, opError("get", key, store.ErrNotFound)
	case err != nil:
		return nil, opError("get", key, err)
	case expires <= now:
		return nil, opError("get", key, store.ErrNotFound)
	case gone != nil:
		return nil, opError("get", key, &store.GoneError{Reason: store.Reason(*gone)})
	}
	rec, err := decode(key, raw, version, epoch)
	if err != nil {
		return nil, opError("get", key, err)
	}
	return rec, nil
}

// Create stores rec at version 1, stamped with the current revocation
// epoch of its user, and sets rec.Version and rec.Epoch. It fails with
// [store.ErrExists] if a live record or a tombstone holds rec.Key. A
// successor record (rec.Lineage set) of a user whose sessions were revoked
// since its predecessor was written is refused with an error wrapping
// [store.ErrGone], and nothing is written. One query.
func (s *Store) Create(ctx context.Context, rec *store.Record) error {
	if err := s.check(ctx, rec); err != nil {
		return fmt.Errorf("pgstore: create: %w", err)
	}
	raw, err := encode(rec)
	if err != nil {
		return opError("create", rec.Key, err)
	}
	var (
		status int16
		epoch  int64
	)
	err = s.pool.QueryRow(ctx, sqlCreate, rec.Key, nullable(rec.UserID), rec.LineageKey(), rec.Lineage != "",
		int64(rec.Epoch), rec.Expires.UnixNano(), raw, s.now()).Scan(&status, &epoch)
	if err != nil {
		return opError("create", rec.Key, err)
	}
	switch status {
	case statusDone:
		rec.Version, rec.Epoch = 1, uint64(epoch)
		return nil
	case statusTaken:
		return opError("create", rec.Key, fmt.Errorf("%w: a live record or a tombstone holds the key", store.ErrExists))
	case statusGone:
		return opError("create", rec.Key, fmt.Errorf("successor of a revoked session: %w", &store.GoneError{Reason: store.ReasonRenewed}))
	}
	return opError("create", rec.Key, fmt.Errorf("unexpected status %d", status))
}

// Update replaces the live record rec.Key if it is at rec.Version, in one
// conditional statement, then sets rec.Version to the new version (and
// rec.Epoch to the stored one, which Update keeps). It never creates a
// record. When nothing matched, a second query finds out why:
// [store.ErrNotFound], a [*store.GoneError] or [store.ErrConflict].
func (s *Store) Update(ctx context.Context, rec *store.Record) error {
	if err := s.check(ctx, rec); err != nil {
		return fmt.Errorf("pgstore: update: %w", err)
	}
	raw, err := encode(rec)
	if err != nil {
		return opError("update", rec.Key, err)
	}
	var version, epoch int64
	err = s.pool.QueryRow(ctx, sqlUpdate, rec.Key, int64(rec.Version), nullable(rec.UserID), rec.LineageKey(),
		rec.Expires.UnixNano(), raw, s.now()).Scan(&version, &epoch)
	switch {
	case err == nil:
		rec.Version, rec.Epoch = uint64(version), uint64(epoch)
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

// Rotate ends oldKey, which must be live at oldVersion, with a tombstone
// (reason [store.ReasonRenewed]) and creates next at version 1, in one
// transaction: a single call of the schema's sessionguard_rotate function,
// one round trip. If the old record's user was revoked since the record
// was written (and its lineage was not the one kept), the old record is
// tombstoned with the revocation's reason, nothing is created, and the
// error wraps [store.ErrGone].
func (s *Store) Rotate(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record) error {
	if err := s.check(ctx, next); err != nil {
		return fmt.Errorf("pgstore: rotate: %w", err)
	}
	raw, err := encode(next)
	if err != nil {
		return opError("rotate", oldKey, err)
	}
	var (
		status, reason int16
		epoch          int64
	)
	err = s.pool.QueryRow(ctx, sqlRotate, oldKey, int64(oldVersion), next.Key, nullable(next.UserID),
		next.LineageKey(), next.Expires.UnixNano(), raw, s.now(), int64(store.ReasonTTL)).Scan(&status, &reason, &epoch)
	if err != nil {
		return opError("rotate", oldKey, err)
	}
	switch status {
	case statusDone:
		next.Version, next.Epoch = 1, uint64(epoch)
		return nil
	case statusTaken:
		return opError("rotate", oldKey, fmt.Errorf("new key %s: %w", store.Fingerprint(next.Key), store.ErrExists))
	case statusGone:
		return opError("rotate", oldKey, &store.GoneError{Reason: store.Reason(reason)})
	case statusNotFound:
		return opError("rotate", oldKey, store.ErrNotFound)
	case statusConflict:
		return opError("rotate", oldKey, store.ErrConflict)
	}
	return opError("rotate", oldKey, fmt.Errorf("unexpected status %d", status))
}

// Delete ends the live record of key with a tombstone that keeps reason,
// in one statement. The tombstone lasts until the record's Expires, and
// for a reason other than [store.ReasonNone] and [store.ReasonRenewed] at
// least [store.ReasonTTL] from now. A missing or already ended key is not
// an error, and gets no tombstone.
func (s *Store) Delete(ctx context.Context, key string, reason store.Reason) error {
	if err := s.check(ctx, nil); err != nil {
		return opError("delete", key, err)
	}
	if _, err := s.pool.Exec(ctx, sqlDelete, key, int16(reason), s.now(), int64(store.ReasonTTL)); err != nil {
		return opError("delete", key, err)
	}
	return nil
}

// ListUser returns the live records of userID, read through the index on
// user_id in one query. An empty userID lists nothing: anonymous records
// are not indexed.
func (s *Store) ListUser(ctx context.Context, userID string) ([]*store.Record, error) {
	if err := s.check(ctx, nil); err != nil {
		return nil, fmt.Errorf("pgstore: list user: %w", err)
	}
	if userID == "" {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, sqlListUser, userID, s.now())
	if err != nil {
		return nil, fmt.Errorf("pgstore: list user: %w", err)
	}
	defer rows.Close()
	var recs []*store.Record
	for rows.Next() {
		var (
			version, epoch int64
			raw            []byte
		)
		if err := rows.Scan(&version, &epoch, &raw); err != nil {
			return nil, fmt.Errorf("pgstore: list user: %w", err)
		}
		rec, err := decode("", raw, version, epoch)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list user: %w", err)
		}
		if rec.UserID != userID {
			return nil, fmt.Errorf("pgstore: list user: %w: record %s is indexed under another user",
				store.ErrCorrupt, store.Fingerprint(rec.Key))
		}
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list user: %w", err)
	}
	return recs, nil
}

// RevokeUser ends every live record of userID outside the lineage
// keepLineage, with tombstones that keep reason, bumps the user's
// revocation epoch and records keepLineage as the lineage kept, all in one
// transaction (one call of sessionguard_revoke_user). It returns how many
// records it ended. Records of the kept lineage take the new epoch. After
// it returns, no record of the user outside that lineage is live, and
// Rotate refuses to make one from a record written before it: writers of a
// user's records hold a share lock on the user's row, which the revocation
// updates first. An empty userID revokes nothing.
func (s *Store) RevokeUser(ctx context.Context, userID, keepLineage string, reason store.Reason) (int, error) {
	if err := s.check(ctx, nil); err != nil {
		return 0, fmt.Errorf("pgstore: revoke user: %w", err)
	}
	if userID == "" {
		return 0, nil
	}
	var n int32
	err := s.pool.QueryRow(ctx, sqlRevokeUser, userID, keepLineage, int16(reason), s.now(),
		int64(store.ReasonTTL)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pgstore: revoke user: %w", err)
	}
	return int(n), nil
}
