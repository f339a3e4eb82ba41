// Package memstore keeps sessions in the memory of one process.
//
// It is meant for tests and single-process development: sessions are lost
// when the process exits, and two processes behind a load balancer would
// each see only their own. For anything else use store/boltstore (one
// process, sessions survive a restart) or store/redisstore (many
// processes).
//
// A [Store] implements the whole [store.Store] contract and passes
// store/storetest:
//
//   - Records are deep-copied on the way in, so the caller may reuse its
//     record and Data buffer. Returned records are fresh copies, but their
//     Data is shared with the store, which the contract allows because
//     callers treat it as read-only; a stored Data is never written to, only
//     replaced.
//   - Expiry is enforced on every read against Record.Expires: a record is
//     never returned past that instant, even if the sweeper has not yet run.
//   - Delete and Rotate leave a tombstone that holds the key until the dead
//     record's Expires, so an in-flight request can neither write to nor
//     bring back a session that was ended (invariants I3, I8). A tombstone
//     is a key and a time; it never keeps the record's data.
//   - A per-user index, kept in step with every write, answers ListUser
//     without looking at other users' records, and gives the size of the
//     user's index after a sign-in's write ([store.UserCounter]), so that
//     the session layer lists a user's sessions only past its bound.
//   - A background goroutine sweeps expired records and tombstones out of
//     memory every [Options.SweepInterval]. [Store.Close] stops it.
//
// Memory grows with the number of live sessions and tombstones; the package
// sets no limit of its own. Requests bearing unknown keys add nothing: a
// Delete of a key the store does not hold leaves no tombstone.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// DefaultSweepInterval is the sweep interval a zero [Options.SweepInterval]
// selects.
const DefaultSweepInterval = time.Minute

// ErrClosed is returned (wrapped) by every method of a [Store] after
// [Store.Close], and by a Store not made by [New]. The session manager
// fails closed on it (invariant I9) rather than serving a fresh session.
var ErrClosed = errors.New("memstore: store is closed")

// Options configures a [Store]. The zero value selects every default.
type Options struct {
	// SweepInterval is how often expired records and tombstones are
	// removed from memory. Zero or negative selects DefaultSweepInterval
	// (one minute). It only bounds memory: expiry itself is checked on
	// every read, so a longer interval never keeps a session alive.
	SweepInterval time.Duration
}

// A Store is an in-memory [store.Store]. Make one with [New] and stop it
// with [Store.Close].
//
// All methods are safe for concurrent use. The zero value is a closed
// Store: its methods return [ErrClosed].
type Store struct {
	mu   sync.RWMutex
	open bool
	// records holds each live or not-yet-swept record by key. Each value is
	// the store's own copy; it is replaced on write, never modified, so its
	// Data can be shared with readers.
	records map[string]*store.Record
	// tombstones holds, for each deleted or rotated-away key, the time
	// until which it is held and why it ended. A key is never in records
	// and tombstones at once.
	tombstones map[string]tombstone
	// byUser indexes the keys of records by UserID. Anonymous records ("")
	// are not indexed. Empty inner maps are removed, so a user who signed
	// out everywhere costs nothing.
	byUser map[string]map[string]struct{}

	stop chan struct{} // closed by Close to stop the sweeper
	done chan struct{} // closed by the sweeper as it exits
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.Counter     = (*Store)(nil)
	_ store.UserCounter = (*Store)(nil)
)

// New returns an empty Store and starts its sweeper, which runs until
// [Store.Close].
func New(opts Options) *Store {
	interval := opts.SweepInterval
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	s := &Store{
		open:       true,
		records:    make(map[string]*store.Record),
		tombstones: make(map[string]tombstone),
		byUser:     make(map[string]map[string]struct{}),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	go s.sweepEvery(interval)
	return s
}

// Close stops the sweeper, waits for it to exit and drops every record.
// Later calls of any method return [ErrClosed]. Close is idempotent, always
// returns nil, and is safe to call concurrently with other methods.
func (s *Store) Close() error {
	s.mu.Lock()
	wasOpen := s.open
	s.open = false
	s.records, s.tombstones, s.byUser = nil, nil, nil
	s.mu.Unlock()
	if s.stop == nil {
		return nil // the zero value: no sweeper was started
	}
	if wasOpen {
		close(s.stop)
	}
	// Every caller waits, so none returns while the sweeper still runs.
	<-s.done
	return nil
}

// Len reports the number of live records: stored, and not past their
// Expires. It looks at every record, so it is meant for tests and
// diagnostics, not for a request path.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	now := time.Now()
	n := 0
	for _, rec := range s.records {
		if !expired(rec, now) {
			n++
		}
	}
	return n
}

// Count implements [store.Counter]: the number of live records, as Len.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memstore: count: %w", err)
	}
	s.mu.RLock()
	open := s.open
	s.mu.RUnlock()
	if !open {
		return 0, fmt.Errorf("memstore: count: %w", ErrClosed)
	}
	return s.Len(), nil
}

// Get implements [store.Store.Get].
func (s *Store) Get(ctx context.Context, key string) (*store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: get: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.open {
		return nil, fmt.Errorf("memstore: get: %w", ErrClosed)
	}
	rec, err := s.live(key, time.Now())
	if err != nil {
		return nil, fmt.Errorf("memstore: get: %w", err)
	}
	c := *rec // Data shared: see the package doc
	return &c, nil
}

// Create implements [store.Store.Create].
func (s *Store) Create(ctx context.Context, rec *store.Record) error {
	_, err := s.CreateCounting(ctx, rec)
	return err
}

// CreateCounting implements [store.UserCounter]: Create, which also
// returns how many records the user's index holds after it.
func (s *Store) CreateCounting(ctx context.Context, rec *store.Record) (int, error) {
	if err := checkArgs(ctx, rec); err != nil {
		return 0, fmt.Errorf("memstore: create: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return 0, fmt.Errorf("memstore: create: %w", ErrClosed)
	}
	if err := s.free(rec.Key, time.Now()); err != nil {
		return 0, fmt.Errorf("memstore: create: %w", err)
	}
	s.put(rec, 1)
	return s.userCount(rec.UserID), nil
}

// userCount is the size of userID's index, 0 for an anonymous record: an
// upper bound on the user's live lineages (it holds forwarders, and
// records past their Expires that the sweeper has not reached).
func (s *Store) userCount(userID string) int {
	if userID == "" {
		return 0
	}
	return len(s.byUser[userID])
}

// Update implements [store.Store.Update].
func (s *Store) Update(ctx context.Context, rec *store.Record) error {
	if err := checkArgs(ctx, rec); err != nil {
		return fmt.Errorf("memstore: update: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return fmt.Errorf("memstore: update: %w", ErrClosed)
	}
	cur, err := s.live(rec.Key, time.Now())
	if err != nil {
		return fmt.Errorf("memstore: update: %w", err)
	}
	if cur.Version != rec.Version {
		return fmt.Errorf("memstore: update: %w", store.ErrConflict)
	}
	s.put(rec, rec.Version+1)
	return nil
}

// Rotate implements [store.Store.Rotate]. It is atomic: every check is
// made before anything changes, under one lock.
func (s *Store) Rotate(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time) error {
	_, err := s.RotateCounting(ctx, oldKey, oldVersion, next, graceUntil)
	return err
}

// RotateCounting implements [store.UserCounter]: Rotate, which also
// returns how many records next's user index holds after it.
func (s *Store) RotateCounting(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time) (int, error) {
	if err := checkArgs(ctx, next); err != nil {
		return 0, fmt.Errorf("memstore: rotate: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return 0, fmt.Errorf("memstore: rotate: %w", ErrClosed)
	}
	now := time.Now()
	old, err := s.live(oldKey, now)
	if err != nil {
		return 0, fmt.Errorf("memstore: rotate: %w", err)
	}
	if old.Version != oldVersion {
		return 0, fmt.Errorf("memstore: rotate: %w", store.ErrConflict)
	}
	// This also refuses next.Key == oldKey, since old is live: a renewal
	// that kept the token would keep whatever an attacker fixed.
	if err := s.free(next.Key, now); err != nil {
		return 0, fmt.Errorf("memstore: rotate: new record: %w", err)
	}
	if graceUntil.IsZero() {
		s.bury(oldKey, old, store.ReasonRenewed, now)
	} else {
		fwd := *old
		fwd.Successor, fwd.GraceUntil = next.Key, graceUntil
		s.put(&fwd, old.Version+1)
	}
	s.put(next, 1)
	return s.userCount(next.UserID), nil
}

// Delete implements [store.Store.Delete].
func (s *Store) Delete(ctx context.Context, key string, reason store.Reason) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: delete: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return fmt.Errorf("memstore: delete: %w", ErrClosed)
	}
	// A key with no record (never held, already tombstoned, or swept) needs
	// nothing: no tombstone is made for it, so requests with invented keys
	// cannot grow the store.
	if rec, ok := s.records[key]; ok {
		s.bury(key, rec, reason, time.Now())
	}
	return nil
}

// RevokeUser implements [store.Store.RevokeUser], under one lock.
func (s *Store) RevokeUser(ctx context.Context, userID, keepLineage string, reason store.Reason) (int, error) {
	return s.revoke(ctx, "revoke user", userID, func(rec *store.Record) bool { return rec.LineageKey() != keepLineage }, reason)
}

// RevokeLineage implements [store.Store.RevokeLineage], under one lock.
func (s *Store) RevokeLineage(ctx context.Context, userID, lineage string, reason store.Reason) (int, error) {
	return s.revoke(ctx, "revoke lineage", userID, func(rec *store.Record) bool { return rec.LineageKey() == lineage }, reason)
}

func (s *Store) revoke(ctx context.Context, op, userID string, ends func(*store.Record) bool, reason store.Reason) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memstore: %s: %w", op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return 0, fmt.Errorf("memstore: %s: %w", op, ErrClosed)
	}
	if userID == "" {
		return 0, nil
	}
	now := time.Now()
	n := 0
	for key := range s.byUser[userID] {
		if rec := s.records[key]; rec != nil && ends(rec) {
			if !expired(rec, now) {
				n++
			}
			s.bury(key, rec, reason, now)
		}
	}
	return n, nil
}

// ListUser implements [store.Store.ListUser]. It looks only at userID's
// entries in the index. It returns no records for userID "": anonymous
// sessions belong to no user and are not indexed.
func (s *Store) ListUser(ctx context.Context, userID string) ([]*store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: list user: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.open {
		return nil, fmt.Errorf("memstore: list user: %w", ErrClosed)
	}
	keys := s.byUser[userID]
	if len(keys) == 0 {
		return nil, nil
	}
	now := time.Now()
	out := make([]*store.Record, 0, len(keys))
	for key := range keys {
		// The index holds only keys of stored records; an expired one stays
		// indexed until it is swept, and is skipped here.
		if rec := s.records[key]; rec != nil && !expired(rec, now) {
			c := *rec
			out = append(out, &c)
		}
	}
	return out, nil
}

// checkArgs refuses a done context and records no store could address, so
// that a caller's bug is an error rather than a panic or a record under "".
func checkArgs(ctx context.Context, rec *store.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if rec == nil {
		return errors.New("nil record")
	}
	if rec.Key == "" {
		return errors.New("record has an empty key")
	}
	return nil
}

// expired reports whether rec is past its Expires at now. The store
// answers to Expires alone: the Manager keeps it at
// min(LastSeen+IdleTimeout, Deadline) and enforces the finer limits itself.
func expired(rec *store.Record, now time.Time) bool {
	return !now.Before(rec.Expires)
}

// live returns the live record at key, or the error the contract gives for
// a key without one. s.mu must be held.
func (s *Store) live(key string, now time.Time) (*store.Record, error) {
	if rec, ok := s.records[key]; ok {
		if !expired(rec, now) {
			return rec, nil
		}
		// Expired, not yet swept: say so, rather than "never issued".
		return nil, store.Gone(store.ReasonExpired)
	}
	if t, ok := s.tombstones[key]; ok && now.Before(t.until) {
		return nil, store.Gone(t.reason)
	}
	return nil, store.ErrNotFound
}

// free returns nil if a record may be created at key: no live record and
// no tombstone holds it. An expired record or tombstone may still sit
// there, unswept; put replaces it. s.mu must be held.
func (s *Store) free(key string, now time.Time) error {
	if rec, ok := s.records[key]; ok && !expired(rec, now) {
		return store.ErrExists
	}
	if t, ok := s.tombstones[key]; ok && now.Before(t.until) {
		return store.ErrExists
	}
	return nil
}

// put stores a copy of rec at version and sets rec.Version to it, keeping
// the index in step: a record whose UserID changed moves to its new user.
// s.mu must be held for writing.
func (s *Store) put(rec *store.Record, version uint64) {
	c := rec.Clone()
	c.Version = version
	if prev, ok := s.records[c.Key]; ok {
		s.unindex(prev)
	}
	delete(s.tombstones, c.Key)
	s.records[c.Key] = c
	if c.UserID != "" {
		keys := s.byUser[c.UserID]
		if keys == nil {
			keys = make(map[string]struct{})
			s.byUser[c.UserID] = keys
		}
		keys[c.Key] = struct{}{}
	}
	rec.Version = version
}

// tombstone is what is kept of an ended record: until when, and why.
type tombstone struct {
	until  time.Time
	reason store.Reason
}

// bury removes rec, stored at key, and tombstones key until rec's Expires,
// or a day after now for a reason worth telling the user (store.ReasonTTL).
// A tombstone's life is bounded either way: Expires never passes the
// session's absolute Deadline. A record already past its Expires with no
// reason to tell needs no tombstone. s.mu must be held for writing.
func (s *Store) bury(key string, rec *store.Record, reason store.Reason, now time.Time) {
	s.unindex(rec)
	delete(s.records, key)
	until := rec.Expires
	if reason > store.ReasonExpired {
		until = later(until, now.Add(store.ReasonTTL))
	}
	if now.Before(until) {
		s.tombstones[key] = tombstone{until, reason}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// unindex removes rec from its user's index entry. s.mu must be held for
// writing.
func (s *Store) unindex(rec *store.Record) {
	if rec.UserID == "" {
		return
	}
	keys := s.byUser[rec.UserID]
	delete(keys, rec.Key)
	if len(keys) == 0 {
		delete(s.byUser, rec.UserID)
	}
}
