package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/session"
)

// Defaults of [Options].
const (
	DefaultPrefix       = "sg:"
	DefaultTombstoneTTL = time.Minute
)

// Options configures a [Store]. The zero value is the default
// configuration; every field documents its default.
type Options struct {
	// Prefix starts the name of every key the store writes. Default "sg:".
	// Give each application sharing a Redis its own prefix.
	//
	// A prefix holding a Redis Cluster hash tag, such as "sg{sessions}:",
	// puts every key of the store in one hash slot, so that every write is
	// one atomic script even on a cluster, at the price of keeping all
	// sessions on one shard (see the package documentation). Braces are
	// allowed only as one non-empty tag; New panics on any other use.
	Prefix string

	// TombstoneTTL is the least time a tombstone is kept after a logout, a
	// revocation or a renewal. Default one minute. A tombstone is always
	// kept at least until the dead record's Expires (the store contract);
	// this floor also covers a record that was about to expire, so that a
	// request racing its renewal sees session.ErrGone (a dead token, worth
	// an event) rather than session.ErrNotFound, and a modest clock
	// difference between the application and Redis cannot shorten the
	// tombstone to nothing. New panics if it is negative.
	TombstoneTTL time.Duration
}

// A Store keeps sessions in Redis. It implements [session.Store]. Build one
// with [New]; its zero value is not usable. A Store is safe for concurrent
// use. It does not own its client: close the client when done with both.
type Store struct {
	client       redis.UniversalClient
	prefix       string
	tombstoneTTL time.Duration
	// sharded is set when the keys of one operation may live in different
	// hash slots (Cluster, Ring): every script then touches one key, and
	// a rotation is the ordered two-step the contract allows.
	sharded bool
}

var _ session.Store = (*Store)(nil)

// New returns a store that keeps sessions through client, which may be a
// *redis.Client (one server, or Sentinel through redis.NewFailoverClient),
// a *redis.ClusterClient or a *redis.Ring, as redis.NewUniversalClient
// returns them. Rotation is one atomic script unless the client is a
// ClusterClient or a Ring and opts.Prefix holds no hash tag; then it is the
// two-step of the package documentation.
//
// The store needs Redis 7.0 or later (PEXPIREAT NX/GT). Set the client's
// timeouts (DialTimeout, ReadTimeout, WriteTimeout, PoolTimeout) to what a
// request may wait: a store call fails when they expire, and the Manager
// then fails the request closed.
//
// New panics, naming the field, on a nil client or an invalid option.
func New(client redis.UniversalClient, opts Options) *Store {
	if client == nil {
		panic("redisstore: New called with a nil client")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	tagged, ok := prefixHashTag(opts.Prefix)
	if !ok {
		panic(fmt.Sprintf("redisstore: Options.Prefix %q: braces are allowed only as one non-empty hash tag such as \"sg{s}:\"", opts.Prefix))
	}
	switch {
	case opts.TombstoneTTL == 0:
		opts.TombstoneTTL = DefaultTombstoneTTL
	case opts.TombstoneTTL < 0:
		panic(fmt.Sprintf("redisstore: Options.TombstoneTTL must not be negative, got %v", opts.TombstoneTTL))
	}
	s := &Store{client: client, prefix: opts.Prefix, tombstoneTTL: opts.TombstoneTTL}
	switch client.(type) {
	case *redis.ClusterClient, *redis.Ring:
		s.sharded = !tagged
	}
	return s
}

// errBadKey is returned (wrapped) by Create and Rotate for a record whose
// Key is not a store key (lower-case hex, at most 128 digits).
var errBadKey = errors.New("redisstore: record key is not lower-case hex")

// Get returns the live record key holds: one round trip.
func (s *Store) Get(ctx context.Context, key string) (*session.Record, error) {
	if !validKey(key) {
		return nil, session.ErrNotFound // no record can have it
	}
	f, err := s.eval(ctx, fieldsScript, []string{s.recordKey(key)}, "t", "v", "d").Slice()
	if err != nil {
		return nil, s.fail("get", err)
	}
	if len(f) != 3 {
		return nil, s.corrupt(key, "unexpected reply")
	}
	switch {
	case f[0] != nil:
		return nil, session.ErrGone
	case f[1] == nil:
		return nil, session.ErrNotFound
	}
	rec, err := s.decode(key, f[1], f[2])
	if err != nil {
		return nil, err
	}
	if dead(rec.Expires, time.Now()) {
		// Redis drops the key at Expires by its own clock; this closes the
		// gap when the application's clock is ahead of the server's.
		return nil, session.ErrNotFound
	}
	return rec, nil
}

// Create stores rec at version 1: one round trip, or two on a sharded
// layout for a signed-in record (the index entry is written first).
func (s *Store) Create(ctx context.Context, rec *session.Record) error {
	if !validKey(rec.Key) {
		return fmt.Errorf("%w: create %q", errBadKey, rec.Key)
	}
	now := time.Now()
	w, err := s.write(rec, 1)
	if err != nil {
		return err
	}
	keys := []string{s.recordKey(rec.Key)}
	if w.index != "" && w.expires > now.UnixMilli() {
		if s.sharded {
			if err := s.indexAdd(ctx, w, now); err != nil {
				return err
			}
		} else {
			keys = append(keys, w.index)
		}
	}
	code, err := s.eval(ctx, createScript, keys, ms(now), w.data, w.expires, w.index, w.score, rec.Key).Int64()
	if err != nil {
		return s.fail("create", err)
	}
	if err := statusErr(code); err != nil {
		return err
	}
	rec.Version = 1
	return nil
}

// Update replaces the record at rec.Version: one round trip. On a sharded
// layout, an Update that moves the record to another user's index or past
// the deadline it is indexed under takes three (the index entry is written
// first); the Manager never does either.
func (s *Store) Update(ctx context.Context, rec *session.Record) error {
	if !validKey(rec.Key) {
		return session.ErrNotFound
	}
	now := time.Now()
	w, err := s.write(rec, rec.Version+1)
	if err != nil {
		return err
	}
	keys := []string{s.recordKey(rec.Key)}
	if w.index != "" && !s.sharded {
		keys = append(keys, w.index)
	}
	args := []any{ms(now), rec.Version, rec.Version + 1, w.data, w.expires, w.index, w.score, rec.Key, "0"}
	code, err := s.eval(ctx, updateScript, keys, args...).Int64()
	if err == nil && code == stNeedIndex {
		if err := s.indexAdd(ctx, w, now); err != nil {
			return err
		}
		args[len(args)-1] = "1"
		code, err = s.eval(ctx, updateScript, keys, args...).Int64()
	}
	if err != nil {
		return s.fail("update", err)
	}
	if err := statusErr(code); err != nil {
		return err
	}
	rec.Version++
	return nil
}

// Rotate tombstones oldKey at oldVersion and creates next. It is one
// atomic script, one round trip, unless the layout is sharded: then the
// old record is tombstoned first (with next's index entry, in parallel),
// and next is created in a second round trip. A failure between the two
// loses next, never leaves the old record live.
func (s *Store) Rotate(ctx context.Context, oldKey string, oldVersion uint64, next *session.Record) error {
	if !validKey(oldKey) {
		return session.ErrNotFound
	}
	if !validKey(next.Key) {
		return fmt.Errorf("%w: rotate to %q", errBadKey, next.Key)
	}
	if next.Key == oldKey {
		// Renewing onto the same key would keep the token (I3).
		return session.ErrExists
	}
	now := time.Now()
	w, err := s.write(next, 1)
	if err != nil {
		return err
	}
	oldRK, newRK := s.recordKey(oldKey), s.recordKey(next.Key)
	tombMin := now.Add(s.tombstoneTTL).UnixMilli()
	indexed := w.index != "" && w.expires > now.UnixMilli()

	if !s.sharded {
		keys := []string{oldRK, newRK}
		if indexed {
			keys = append(keys, w.index)
		}
		code, err := s.eval(ctx, rotateScript, keys,
			ms(now), oldVersion, tombMin, w.data, w.expires, w.index, w.score, next.Key, oldKey).Int64()
		if err != nil {
			return s.fail("rotate", err)
		}
		if err := statusErr(code); err != nil {
			return err
		}
		next.Version = 1
		return nil
	}

	// Step one: kill the old record, and list the new one, in parallel.
	bury := &scriptCall{script: buryScript, keys: []string{oldRK}, args: []any{ms(now), oldVersion, tombMin}}
	calls := []*scriptCall{bury}
	var index *scriptCall
	if indexed {
		index = &scriptCall{script: indexAddScript, keys: []string{w.index}, args: []any{next.Key, w.score, ms(now)}}
		calls = append(calls, index)
	}
	s.evalAll(ctx, calls)
	code, err := bury.cmd.Int64()
	if err != nil {
		return s.fail("rotate: tombstone", err)
	}
	if err := statusErr(code); err != nil {
		return err
	}
	if index != nil {
		if err := index.cmd.Err(); err != nil {
			// Creating next now could leave it unlisted, out of reach of
			// RevokeAll. The old session is already dead: that is the
			// failure the contract allows.
			return s.fail("rotate: index", err)
		}
	}
	// Step two: create the new record.
	code, err = s.eval(ctx, createScript, []string{newRK},
		ms(now), w.data, w.expires, w.index, w.score, next.Key).Int64()
	if err != nil {
		return s.fail("rotate: create", err)
	}
	if err := statusErr(code); err != nil {
		return err
	}
	next.Version = 1
	return nil
}

// Delete tombstones key: one round trip. Deleting a missing or dead key is
// not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if !validKey(key) {
		return nil
	}
	now := time.Now()
	tombMin := now.Add(s.tombstoneTTL).UnixMilli()
	if err := s.eval(ctx, deleteScript, []string{s.recordKey(key)}, ms(now), tombMin).Err(); err != nil {
		return s.fail("delete", err)
	}
	return nil
}

// written is a record as the scripts store it.
type written struct {
	key     string // the record key, the member of the index
	data    []byte // MarshalBinary, with the version the write will store
	expires int64  // Expires in Unix ms
	index   string // user index key, "" for anonymous
	score   int64  // index score: max(Deadline, Expires) in Unix ms
}

// write encodes rec as it will be stored at version v. It copies rec, so
// the caller's record (and its Version, on failure) is left alone.
func (s *Store) write(rec *session.Record, v uint64) (written, error) {
	r := *rec
	r.Version = v
	data, err := r.MarshalBinary()
	if err != nil {
		return written{}, fmt.Errorf("redisstore: encode: %w", err)
	}
	w := written{key: rec.Key, data: data, expires: rec.Expires.UnixMilli(), index: s.indexKey(rec.UserID)}
	// The index entry must outlive the record, whose idle refreshes move
	// Expires up to Deadline: scored by the later of the two, it needs no
	// write on an idle refresh.
	w.score = max(w.expires, rec.Deadline.UnixMilli())
	return w, nil
}

// indexAdd lists w's record in its user index: on the sharded layout, the
// step before any write that makes a record a user's, so that no record is
// ever a user's without being listed (and so revocable).
func (s *Store) indexAdd(ctx context.Context, w written, now time.Time) error {
	if err := s.eval(ctx, indexAddScript, []string{w.index}, w.key, w.score, ms(now)).Err(); err != nil {
		return s.fail("index", err)
	}
	return nil
}

// decode turns the stored v and d of key into a record.
func (s *Store) decode(key string, v, d any) (*session.Record, error) {
	vs, ok1 := v.(string)
	ds, ok2 := d.(string)
	if !ok1 || !ok2 {
		return nil, s.corrupt(key, "missing field")
	}
	version, err := strconv.ParseUint(vs, 10, 64)
	if err != nil {
		return nil, s.corrupt(key, "bad version")
	}
	rec := new(session.Record)
	if err := rec.UnmarshalBinary([]byte(ds)); err != nil {
		return nil, fmt.Errorf("redisstore: record %s: %w", session.Fingerprint(key), err)
	}
	if rec.Key != key || rec.Version != version {
		// A record copied to another key, or written around the scripts.
		return nil, s.corrupt(key, "key or version does not match")
	}
	return rec, nil
}

func (s *Store) corrupt(key, what string) error {
	return fmt.Errorf("redisstore: record %s: %w: %s", session.Fingerprint(key), session.ErrCorrupt, what)
}

// fail wraps a failure of Redis (or of the context) with the operation.
func (s *Store) fail(op string, err error) error {
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// statusErr maps a script's status code to the contract's errors.
func statusErr(code int64) error {
	switch code {
	case stOK:
		return nil
	case stExists:
		return session.ErrExists
	case stGone:
		return session.ErrGone
	case stNotFound:
		return session.ErrNotFound
	case stConflict:
		return session.ErrConflict
	default:
		return fmt.Errorf("redisstore: script answered unexpected status %d", code)
	}
}

// dead reports whether a record expiring at exp is dead at now, to the
// millisecond, as the scripts and Redis's own expiry see it.
func dead(exp, now time.Time) bool { return now.UnixMilli() >= exp.UnixMilli() }

// ms formats t as Unix milliseconds for a script argument.
func ms(t time.Time) int64 { return t.UnixMilli() }
