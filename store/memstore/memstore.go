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
//   - A per-user index of lineages, each with its keys and its last use
//     on the store's clock, kept in step with every write and ordered by
//     last use, answers ListUser without looking at other users' records
//     and lets a sign-in ([Store.SignIn]) count the user's sessions and
//     end the least recently used ones past the bound in the same step,
//     without a pass over them.
//   - [Store.RevokeUser] leaves a per-user revocation mark, on the
//     store's clock ([Options.Now]), kept for [store.MarkTTL]; a sign-in
//     whose request began before it is refused.
//   - A background goroutine sweeps expired records and tombstones out of
//     memory every [Options.SweepInterval]. [Store.Close] stops it.
//
// Memory grows with the number of live sessions and tombstones; the package
// sets no limit of its own. Requests bearing unknown keys add nothing: a
// Delete of a key the store does not hold leaves no tombstone.
package memstore

import (
	"container/list"
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
	// Now is the store's clock: expiry, the last use of a session and the
	// revocation marks are read from it. Default time.Now. For tests.
	Now func() time.Time
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
	// byUser indexes the records of each user by lineage. Anonymous
	// records ("") are not indexed. Empty entries are removed, so a user
	// who signed out everywhere costs nothing.
	byUser map[string]map[string]*lineage
	// lru orders each user's lineages by last use, least recent first, for
	// the bound of a sign-in: its elements are lineage keys.
	lru map[string]*list.List
	// marks holds each user's latest revocation mark (RevokeUser), until
	// store.MarkTTL after it.
	marks map[string]mark
	now   func() time.Time

	stop chan struct{} // closed by Close to stop the sweeper
	done chan struct{} // closed by the sweeper as it exits
}

var (
	_ store.Store   = (*Store)(nil)
	_ store.Counter = (*Store)(nil)
)

// New returns an empty Store and starts its sweeper, which runs until
// [Store.Close].
func New(opts Options) *Store {
	interval := opts.SweepInterval
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Store{
		open:       true,
		records:    make(map[string]*store.Record),
		tombstones: make(map[string]tombstone),
		byUser:     make(map[string]map[string]*lineage),
		lru:        make(map[string]*list.List),
		marks:      make(map[string]mark),
		now:        now,
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
	s.records, s.tombstones, s.byUser, s.lru, s.marks = nil, nil, nil, nil, nil
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
	if !s.open {
		return 0
	}
	now := s.now()
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
	rec, err := s.live(key, s.now())
	if err != nil {
		return nil, fmt.Errorf("memstore: get: %w", err)
	}
	c := *rec // Data shared: see the package doc
	return &c, nil
}

// Create implements [store.Store.Create].
func (s *Store) Create(ctx context.Context, rec *store.Record) error {
	if err := checkArgs(ctx, rec); err != nil {
		return fmt.Errorf("memstore: create: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return fmt.Errorf("memstore: create: %w", ErrClosed)
	}
	now := s.now()
	if err := s.free(rec.Key, now); err != nil {
		return fmt.Errorf("memstore: create: %w", err)
	}
	s.put(rec, 1, now)
	return nil
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
	now := s.now()
	cur, err := s.live(rec.Key, now)
	if err != nil {
		return fmt.Errorf("memstore: update: %w", err)
	}
	if cur.Version != rec.Version {
		return fmt.Errorf("memstore: update: %w", store.ErrConflict)
	}
	s.put(rec, rec.Version+1, now)
	return nil
}

// Rotate implements [store.Store.Rotate]. It is atomic: every check is
// made before anything changes, under one lock.
func (s *Store) Rotate(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time) error {
	if err := checkArgs(ctx, next); err != nil {
		return fmt.Errorf("memstore: rotate: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return fmt.Errorf("memstore: rotate: %w", ErrClosed)
	}
	now := s.now()
	old, err := s.replaceable(oldKey, oldVersion, next.Key, now)
	if err != nil {
		return fmt.Errorf("memstore: rotate: %w", err)
	}
	if graceUntil.IsZero() {
		s.bury(oldKey, old, store.ReasonRenewed, now)
	} else {
		fwd := *old
		fwd.Successor, fwd.GraceUntil = next.Key, graceUntil
		s.put(&fwd, old.Version+1, now)
	}
	s.put(next, 1, now)
	return nil
}

// replaceable returns the record oldKey if it is live at oldVersion and
// newKey is free for its replacement, or the error Rotate gives. s.mu must
// be held.
func (s *Store) replaceable(oldKey string, oldVersion uint64, newKey string, now time.Time) (*store.Record, error) {
	old, err := s.live(oldKey, now)
	if err != nil {
		return nil, err
	}
	if old.Version != oldVersion {
		return nil, store.ErrConflict
	}
	// This also refuses newKey == oldKey, since old is live: a renewal
	// that kept the token would keep whatever an attacker fixed.
	if err := s.free(newKey, now); err != nil {
		return nil, fmt.Errorf("new record: %w", err)
	}
	return old, nil
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
		s.bury(key, rec, reason, s.now())
	}
	return nil
}

// RevokeUser implements [store.Store.RevokeUser], under one lock: it ends
// the records and writes the user's mark in the same step.
func (s *Store) RevokeUser(ctx context.Context, userID, keepLineage string, reason store.Reason) (store.Revocation, error) {
	var rev store.Revocation
	err := s.locked(ctx, "revoke user", func(now time.Time) {
		if userID == "" {
			return
		}
		rev.Ended = s.revoke(userID, func(l string) bool { return l != keepLineage }, reason, now)
		rev.Mark, rev.Prior = s.mark(userID, reason, now)
	})
	return rev, err
}

// RevokeLineage implements [store.Store.RevokeLineage], under one lock.
func (s *Store) RevokeLineage(ctx context.Context, userID, lineage string, reason store.Reason) (int, error) {
	n := 0
	err := s.locked(ctx, "revoke lineage", func(now time.Time) {
		if userID != "" {
			n = s.endLineage(userID, lineage, reason, now)
		}
	})
	return n, err
}

// locked runs f under the write lock of an open store, with the store's
// time.
func (s *Store) locked(ctx context.Context, op string, f func(now time.Time)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return fmt.Errorf("memstore: %s: %w", op, ErrClosed)
	}
	f(s.now())
	return nil
}

// revoke tombstones with reason every record of userID in a lineage ends
// selects, and returns how many of them were live. s.mu must be held for
// writing.
func (s *Store) revoke(userID string, ends func(lineage string) bool, reason store.Reason, now time.Time) int {
	n := 0
	for lk := range s.byUser[userID] {
		if ends(lk) {
			n += s.endLineage(userID, lk, reason, now)
		}
	}
	return n
}

// endLineage tombstones with reason every record of userID's lineage lk,
// and returns how many of them were live. s.mu must be held for writing.
func (s *Store) endLineage(userID, lk string, reason store.Reason, now time.Time) int {
	l := s.byUser[userID][lk]
	if l == nil {
		return 0
	}
	n := 0
	for key := range l.keys {
		if rec := s.records[key]; rec != nil {
			if !expired(rec, now) {
				n++
			}
			s.bury(key, rec, reason, now)
		}
	}
	return n
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
	lineages := s.byUser[userID]
	if len(lineages) == 0 {
		return nil, nil
	}
	now := s.now()
	out := make([]*store.Record, 0, len(lineages))
	for _, l := range lineages {
		for key := range l.keys {
			// The index holds only keys of stored records; an expired one
			// stays indexed until it is swept, and is skipped here.
			if rec := s.records[key]; rec != nil && !expired(rec, now) {
				c := *rec
				out = append(out, &c)
			}
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
// the index in step: a record whose UserID or lineage changed moves, and
// its lineage's last use becomes now. s.mu must be held for writing.
func (s *Store) put(rec *store.Record, version uint64, now time.Time) {
	c := rec.Clone()
	c.Version = version
	if prev, ok := s.records[c.Key]; ok {
		s.unindex(prev)
	}
	delete(s.tombstones, c.Key)
	s.records[c.Key] = c
	if c.UserID != "" {
		s.index(c, now)
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

// lineage is one lineage of a user in the index: the keys of its stored
// records, its last use on the store's clock, and its place in the user's
// lru list.
type lineage struct {
	keys map[string]struct{}
	used time.Time
	elem *list.Element
}

// index adds rec, which has a UserID, to the index, and makes now its
// lineage's last use. s.mu must be held for writing.
func (s *Store) index(rec *store.Record, now time.Time) {
	lineages := s.byUser[rec.UserID]
	if lineages == nil {
		lineages = make(map[string]*lineage)
		s.byUser[rec.UserID] = lineages
	}
	order := s.lru[rec.UserID]
	if order == nil {
		order = list.New()
		s.lru[rec.UserID] = order
	}
	l := lineages[rec.LineageKey()]
	if l == nil {
		l = &lineage{keys: make(map[string]struct{}), elem: order.PushBack(rec.LineageKey())}
		lineages[rec.LineageKey()] = l
	} else {
		order.MoveToBack(l.elem)
	}
	l.keys[rec.Key] = struct{}{}
	l.used = now
}

// unindex removes rec from the index. s.mu must be held for writing.
func (s *Store) unindex(rec *store.Record) {
	if rec.UserID == "" {
		return
	}
	lineages := s.byUser[rec.UserID]
	l := lineages[rec.LineageKey()]
	if l == nil {
		return
	}
	delete(l.keys, rec.Key)
	if len(l.keys) == 0 {
		delete(lineages, rec.LineageKey())
		s.lru[rec.UserID].Remove(l.elem)
	}
	if len(lineages) == 0 {
		delete(s.byUser, rec.UserID)
		delete(s.lru, rec.UserID)
	}
}
