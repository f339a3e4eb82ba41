package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/store"
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
	// allowed only as one non-empty tag; New panics (Open fails) on any other use.
	Prefix string

	// TombstoneTTL is the least time a tombstone is kept after a logout, a
	// revocation or a renewal. Default one minute. A tombstone is always
	// kept at least until the dead record's Expires (the store contract);
	// this floor also covers a record that was about to expire, so that a
	// request racing its renewal sees store.ErrGone (a dead token, worth
	// an event) rather than store.ErrNotFound, and a modest clock
	// difference between the application and Redis cannot shorten the
	// tombstone to nothing. A tombstone whose reason is above
	// store.ReasonExpired (a sign-out, a revocation) is kept at least
	// store.ReasonTTL whatever this is. New panics (Open fails) if it is negative.
	TombstoneTTL time.Duration

	// WaitReplicas, when above zero, makes the writes that end sessions
	// durable across a failover: a logout (Delete), a revocation
	// (RevokeUser, RevokeLineage, which the session layer also uses for
	// a signed-in logout, the session limit and reuse detection) and a
	// rotation (Rotate: the renewed-away token's tombstone, or a periodic
	// rotation's forwarder) are each followed by WAIT WaitReplicas
	// WaitTimeout on the same connection, in the same pipeline: no extra
	// client round trip, but the write returns only once that many
	// replicas have acknowledged it, which costs the replication round
	// trip between the primary and its replicas (and up to WaitTimeout
	// when they lag). Fewer acknowledgements in time fail the call with
	// an error wrapping [ErrNotReplicated], and the session layer fails
	// the request closed (a logout answers an error, not "signed out").
	// The write itself is not undone: it stands on the primary, and
	// reaches the replicas when they catch up. Other writes (sign-ins,
	// value changes, idle refreshes) never wait. Default 0: no waiting,
	// and a failover can lose the last writes (see the package
	// documentation). It needs a client that sends a pipeline to one
	// server: a *redis.Client, as redis.NewClient and
	// redis.NewFailoverClient (Sentinel) return; New panics (Open fails) if it is set
	// with a ClusterClient or a Ring.
	WaitReplicas int

	// WaitTimeout bounds each WAIT of WaitReplicas. Default one second.
	// Keep it below the client's ReadTimeout (three seconds by default),
	// which bounds the reply's arrival too. New panics (Open fails) if it
	// is negative.
	WaitTimeout time.Duration

	// InsecureSkipEvictionPolicyCheck makes Open skip its check that every
	// primary runs with maxmemory-policy noeviction. Default false: Open
	// reads the policy with CONFIG GET and refuses any other, and refuses
	// a server that hides CONFIG. Set it only for a managed service that
	// hides CONFIG and whose policy you have set to noeviction yourself:
	// under an evicting policy, memory pressure can drop a user's session
	// index while the sessions stay, so that RevokeUser (a password
	// change, "sign out everywhere") misses a stolen session and returns
	// as if it had ended them all.
	InsecureSkipEvictionPolicyCheck bool

	// InsecureSkipRollbackCheck makes Open skip the rollback watch of the
	// package documentation ("Redis going back in time"): a Redis that
	// restarts from an old snapshot, or fails over to a replica that
	// missed the last writes, then brings back sessions that were signed
	// out or revoked, silently. Default false. On a layout the watch
	// cannot cover (a ClusterClient or Ring without a hash tag in Prefix),
	// Open instead requires every primary to persist each write before
	// acknowledging it (appendonly yes, appendfsync always) and refuses
	// otherwise, unless this is set.
	InsecureSkipRollbackCheck bool

	// RollbackCheckInterval is how often Open's store looks for a Redis
	// that went back in time: one round trip to the primary per interval
	// and per application instance, never one per request. Default two
	// seconds ([DefaultRollbackCheckInterval]). A rollback is acted on
	// within one interval of the restart or failover: until then, a
	// signed-out session brought back by it can be used. Open fails if it
	// is negative.
	RollbackCheckInterval time.Duration

	// Logger receives what the rollback watch finds: a rollback and the
	// sign-out it causes (Error), a restart or failover found safe (Info),
	// a check that failed (Warn). Default slog.Default().
	Logger *slog.Logger
}

// DefaultRollbackCheckInterval is the default of
// Options.RollbackCheckInterval.
const DefaultRollbackCheckInterval = 2 * time.Second

// DefaultWaitTimeout is the default of Options.WaitTimeout.
const DefaultWaitTimeout = time.Second

// ErrNotReplicated is returned (wrapped) by a write that ends sessions
// when fewer than Options.WaitReplicas replicas acknowledged it within
// Options.WaitTimeout. The write was made on the primary; a failover
// before the replicas catch up may lose it.
// It wraps [store.ErrNotDurable].
var ErrNotReplicated = fmt.Errorf("redisstore: write not acknowledged by enough replicas: %w", store.ErrNotDurable)

// A Store keeps sessions in Redis. It implements [store.Store]. Build one
// with [Open] (or [New], which checks nothing); its zero value is not
// usable. A Store is safe for concurrent use. It does not own its client:
// close the store (which stops Open's rollback watch), then the client.
type Store struct {
	client       redis.UniversalClient
	prefix       string
	tombstoneTTL time.Duration
	// sharded is set when the keys of one operation may live in different
	// hash slots (Cluster, Ring): every script then touches one key, and
	// a rotation is the ordered two-step the contract allows.
	sharded bool
	// direct is set for a *redis.Client, which sends every command to the
	// one server it is given (a primary, or Sentinel's current primary):
	// Get then reads with a plain HMGET rather than a script.
	direct bool
	// waitReplicas and waitTimeout are Options.WaitReplicas and
	// WaitTimeout.
	waitReplicas int
	waitTimeout  time.Duration
	// tagged is set when Options.Prefix holds a hash tag.
	tagged bool
	// guard watches for a Redis that went back in time; nil for a store
	// from New, or from Open with InsecureSkipRollbackCheck.
	guard *guard
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.UserCounter = (*Store)(nil)
)

// New returns a store that keeps sessions through client, which may be a
// *redis.Client (one server, or Sentinel through redis.NewFailoverClient),
// a *redis.ClusterClient or a *redis.Ring, as redis.NewUniversalClient
// returns them. Rotation is one atomic script unless the client is a
// ClusterClient or a Ring and opts.Prefix holds no hash tag; then it is the
// two-step of the package documentation.
//
// New checks nothing on the server: neither the eviction policy nor the
// persistence, and it does not watch for a Redis that went back in time
// (I14). Use [Open], which does; New is for tests, benchmarks and callers
// that run those checks themselves. A store from New ignores the options
// only Open acts on (InsecureSkipEvictionPolicyCheck,
// InsecureSkipRollbackCheck, RollbackCheckInterval, Logger), and does not
// honour a rollback floor that stores from Open raise: do not mix the two
// on one Redis.
//
// The store needs Redis 7.0 or later (PEXPIREAT NX/GT). Set the client's
// timeouts (DialTimeout, ReadTimeout, WriteTimeout, PoolTimeout) to what a
// request may wait: a store call fails when they expire, and the Manager
// then fails the request closed.
//
// New panics, naming the field, on a nil client or an invalid option.
func New(client redis.UniversalClient, opts Options) *Store {
	s, err := newStore(client, opts)
	if err != nil {
		panic(err.Error())
	}
	return s
}

// newStore validates opts and builds the store New and Open return.
func newStore(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: called with a nil client")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	tagged, ok := prefixHashTag(opts.Prefix)
	if !ok {
		return nil, fmt.Errorf("redisstore: Options.Prefix %q: braces are allowed only as one non-empty hash tag such as \"sg{s}:\"", opts.Prefix)
	}
	switch {
	case opts.TombstoneTTL == 0:
		opts.TombstoneTTL = DefaultTombstoneTTL
	case opts.TombstoneTTL < 0:
		return nil, fmt.Errorf("redisstore: Options.TombstoneTTL must not be negative, got %v", opts.TombstoneTTL)
	}
	switch {
	case opts.WaitReplicas < 0:
		return nil, fmt.Errorf("redisstore: Options.WaitReplicas must not be negative, got %d", opts.WaitReplicas)
	case opts.WaitTimeout < 0:
		return nil, fmt.Errorf("redisstore: Options.WaitTimeout must not be negative, got %v", opts.WaitTimeout)
	case opts.WaitTimeout == 0:
		opts.WaitTimeout = DefaultWaitTimeout
	}
	s := &Store{client: client, prefix: opts.Prefix, tombstoneTTL: opts.TombstoneTTL,
		waitReplicas: opts.WaitReplicas, waitTimeout: opts.WaitTimeout, tagged: tagged}
	switch client.(type) {
	case *redis.Client:
		s.direct = true
	case *redis.ClusterClient, *redis.Ring:
		s.sharded = !tagged
		if opts.WaitReplicas > 0 {
			return nil, errors.New("redisstore: Options.WaitReplicas needs a *redis.Client (one server or Sentinel), not a ClusterClient or Ring")
		}
	}
	return s, nil
}

// errBadKey is returned (wrapped) by Create and Rotate for a record whose
// Key is not a store key (lower-case hex, at most 128 digits).
var errBadKey = errors.New("redisstore: record key is not lower-case hex")

// Get returns the live record key holds: one round trip. A tombstoned key
// is a [*store.GoneError] with the tombstone's reason; a record Redis
// still holds past its Expires (by the application's clock) is one with
// [store.ReasonExpired], and ErrNotFound once Redis has dropped it. On a
// store from Open, a record written before a rollback floor is one with
// [store.ReasonRolledBack] (see "Redis going back in time" in the package
// documentation).
func (s *Store) Get(ctx context.Context, key string) (*store.Record, error) {
	if !validKey(key) {
		return nil, store.ErrNotFound // no record can have it
	}
	var f []any
	var err error
	if s.direct {
		f, err = s.client.HMGet(ctx, s.recordKey(key), "t", "v", "d", "r", "s", "g", "w").Result()
	} else {
		f, err = s.eval(ctx, fieldsScript, []string{s.recordKey(key)}, "t", "v", "d", "r", "s", "g", "w").Slice()
	}
	if err != nil {
		return nil, s.fail("get", err)
	}
	if len(f) != 7 {
		return nil, s.corrupt(key, "unexpected reply")
	}
	switch {
	case f[0] != nil:
		return nil, store.Gone(reasonOf(f[3]))
	case f[1] == nil:
		return nil, store.ErrNotFound
	case s.guard != nil && s.guard.ended(f[6]):
		return nil, rolledBack()
	}
	rec, err := s.decode(key, f[1], f[2], f[4], f[5])
	if err != nil {
		return nil, err
	}
	if dead(rec.Expires, time.Now()) {
		// Redis drops the key at Expires by its own clock; this closes the
		// gap when the application's clock is ahead of the server's.
		return nil, store.Gone(store.ReasonExpired)
	}
	return rec, nil
}

// Create stores rec at version 1: one round trip, or two on a sharded
// layout for a signed-in record (the index entry is written first).
func (s *Store) Create(ctx context.Context, rec *store.Record) error {
	_, err := s.CreateCounting(ctx, rec)
	return err
}

// CreateCounting is [Store.Create], which also returns, for a signed-in
// record, the number of entries in its user's index after the write (see
// [store.UserCounter]): the same round trips as Create.
func (s *Store) CreateCounting(ctx context.Context, rec *store.Record) (int, error) {
	if !validKey(rec.Key) {
		return 0, fmt.Errorf("%w: create %q", errBadKey, rec.Key)
	}
	now := time.Now()
	w, err := s.write(rec, 1)
	if err != nil {
		return 0, err
	}
	keys := []string{s.recordKey(rec.Key)}
	count := 0
	if w.index != "" && w.expires > now.UnixMilli() {
		if s.sharded {
			if count, err = s.register(ctx, w, "", now); err != nil {
				if errors.Is(err, store.ErrGone) {
					return 0, store.ErrExists // a revocation already holds the key
				}
				return 0, err
			}
		} else {
			keys = append(keys, w.index, w.lineages)
		}
	}
	code, err := s.eval(ctx, createScript, keys, ms(now), w.data, w.expires, w.index, w.score, rec.Key, w.lineage).Int64()
	if err != nil {
		return 0, s.fail("create", err)
	}
	code, n := splitCount(code)
	if err := statusErr(code); err != nil {
		return 0, err
	}
	rec.Version = 1
	if w.index == "" {
		return 0, nil
	}
	return max(count, n, 1), nil
}

// Update replaces the record at rec.Version: one round trip. On a sharded
// layout, an Update that moves the record to another user's index or past
// the deadline it is indexed under takes three (the index entry is written
// first); the session layer never does either.
func (s *Store) Update(ctx context.Context, rec *store.Record) error {
	if !validKey(rec.Key) {
		return store.ErrNotFound
	}
	now := time.Now()
	w, err := s.write(rec, rec.Version+1)
	if err != nil {
		return err
	}
	keys := []string{s.recordKey(rec.Key)}
	if w.index != "" && !s.sharded {
		keys = append(keys, w.index, w.lineages)
	}
	args := []any{ms(now), rec.Version, rec.Version + 1, w.data, w.expires, w.index, w.score, rec.Key, "0", w.lineage}
	code, err := s.eval(ctx, updateScript, keys, args...).Int64()
	if err == nil && code == stNeedIndex {
		if _, err := s.register(ctx, w, "", now); err != nil {
			return err
		}
		args[8] = "1"
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

// Rotate replaces oldKey at oldVersion by next: with a zero graceUntil the
// old record is tombstoned with [store.ReasonRenewed], otherwise it stays
// as a forwarder to next until its Expires. It is one atomic script, one
// round trip, unless the layout is sharded: then next's index entry is
// registered (refused if a revocation selected the old record) while the
// old record is retired, in one round trip, and next is created in a
// second. A failure between the two loses next, never leaves the old
// record live beside it without a forwarder's Successor.
func (s *Store) Rotate(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time) error {
	_, err := s.RotateCounting(ctx, oldKey, oldVersion, next, graceUntil)
	return err
}

// RotateCounting is [Store.Rotate], which also returns, when next is
// signed in, the number of entries in its user's index after the write
// (see [store.UserCounter]): the same round trips as Rotate.
func (s *Store) RotateCounting(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time) (int, error) {
	n, err := s.rotate(ctx, oldKey, oldVersion, next, graceUntil)
	if err != nil {
		return 0, err
	}
	if next.UserID == "" {
		return 0, nil
	}
	return max(n, 1), nil
}

func (s *Store) rotate(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time) (int, error) {
	if !validKey(oldKey) {
		return 0, store.ErrNotFound
	}
	if !validKey(next.Key) {
		return 0, fmt.Errorf("%w: rotate to %q", errBadKey, next.Key)
	}
	if next.Key == oldKey {
		// Renewing onto the same key would keep the token (I3).
		return 0, store.ErrExists
	}
	now := time.Now()
	w, err := s.write(next, 1)
	if err != nil {
		return 0, err
	}
	oldRK, newRK := s.recordKey(oldKey), s.recordKey(next.Key)
	floor := s.floor(store.ReasonRenewed, now)
	indexed := w.index != "" && w.expires > now.UnixMilli()
	grace := ""
	if !graceUntil.IsZero() {
		grace = strconv.FormatInt(graceUntil.UnixNano(), 10)
	}

	if !s.sharded {
		keys := []string{oldRK, newRK}
		if indexed {
			keys = append(keys, w.index, w.lineages)
		}
		code, err := s.evalEnding(ctx, rotateScript, keys,
			ms(now), oldVersion, floor, w.data, w.expires, w.index, w.score, next.Key, oldKey,
			w.lineage, grace, oldVersion+1).Int64()
		if err != nil {
			return 0, s.fail("rotate", err)
		}
		code, n := splitCount(code)
		if err := statusErr(code); err != nil {
			return 0, err
		}
		next.Version = 1
		return n, nil
	}

	// Step one: retire the old record and, in the index's slot, register
	// the new one, unless a revocation selected the old one.
	retire := &scriptCall{script: retireScript, keys: []string{oldRK},
		args: []any{ms(now), oldVersion, floor, grace, next.Key, oldVersion + 1, w.index}}
	calls := []*scriptCall{retire}
	var reg *scriptCall
	if indexed {
		reg = &scriptCall{script: registerScript, keys: []string{w.index, w.lineages},
			args: []any{ms(now), next.Key, w.score, w.lineage, oldKey}}
		calls = append(calls, reg)
	}
	s.evalAll(ctx, calls)
	code, retireErr := retire.cmd.Int64()
	if retireErr == nil {
		retireErr = statusErr(code)
	}
	var regErr error
	added, count := false, 0
	if reg != nil {
		var rc int64
		if rc, regErr = reg.cmd.Int64(); regErr == nil {
			rc, count = splitCount(rc)
			if rc != 0 && rc != 1 {
				regErr = statusErr(rc)
			}
		}
		added = regErr == nil && rc == 1
	}
	if retireErr != nil || regErr != nil {
		if added {
			// Take back the entry of a record that will not be made.
			// Failing that, the entry names no record until its score
			// passes: ListUser skips it, a revocation tombstones the key.
			_ = s.eval(ctx, unregisterScript, []string{w.index, w.lineages}, next.Key).Err()
		}
		if retireErr != nil {
			return 0, s.failOr("rotate: retire", retireErr)
		}
		// Creating next now could leave it unlisted, or listed as revoked.
		// The old record is retired, or, a forwarder to a record that will
		// never be made, is selected by the revocation that refused the
		// registration, which tombstones it.
		return 0, s.failOr("rotate: index", regErr)
	}
	// Step two: create the new record.
	code, err = s.eval(ctx, createScript, []string{newRK},
		ms(now), w.data, w.expires, w.index, w.score, next.Key, w.lineage).Int64()
	if err == nil && code >= stPreempted {
		// A revocation selected the new record while it was on its way.
		err = store.Gone(store.Reason(code - stPreempted))
	} else if err == nil {
		err = statusErr(code)
	}
	if err != nil {
		if grace != "" {
			// The forwarder must not point at a key that holds no record of
			// its session: end it.
			_ = s.eval(ctx, deleteScript, []string{oldRK}, ms(now), int(store.ReasonRenewed), floor).Err()
		}
		return 0, s.failOr("rotate: create", err)
	}
	next.Version = 1
	return count, nil
}

// Delete tombstones key with reason: one round trip. Deleting a missing or
// dead key is not an error.
func (s *Store) Delete(ctx context.Context, key string, reason store.Reason) error {
	if !validKey(key) {
		return nil
	}
	now := time.Now()
	if err := s.evalEnding(ctx, deleteScript, []string{s.recordKey(key)}, ms(now), int(reason), s.floor(reason, now)).Err(); err != nil {
		return s.fail("delete", err)
	}
	return nil
}

// written is a record as the scripts store it.
type written struct {
	key      string // the record key, the member of the index
	data     []byte // MarshalBinary, with the version the write will store
	expires  int64  // Expires in Unix ms
	index    string // user index key, "" for anonymous
	lineages string // the lineage hash beside the index
	score    int64  // index score: max(Deadline, Expires) in Unix ms
	lineage  string // the lineage entry: "LINEAGE|EXPIRES"
}

// write encodes rec as it will be stored at version v. It copies rec, so
// the caller's record (and its Version, on failure) is left alone.
func (s *Store) write(rec *store.Record, v uint64) (written, error) {
	r := *rec
	r.Version = v
	data, err := r.MarshalBinary()
	if err != nil {
		return written{}, fmt.Errorf("redisstore: encode: %w", err)
	}
	w := written{key: rec.Key, data: data, expires: rec.Expires.UnixMilli(),
		index: s.indexKey(rec.UserID), lineages: s.lineagesKey(rec.UserID)}
	// The index entry must outlive the record, whose idle refreshes move
	// Expires up to Deadline: scored by the later of the two, it needs no
	// write on an idle refresh.
	w.score = max(w.expires, rec.Deadline.UnixMilli())
	w.lineage = rec.LineageKey() + "|" + strconv.FormatInt(w.expires, 10)
	return w, nil
}

// register lists w's record in its user index: on the sharded layout, the
// step before any write that makes a record a user's, so that no record is
// ever a user's without being listed (and so revocable). It fails with a
// [*store.GoneError] if a revocation selected oldKey (or w's key).
// It returns the number of entries in the index after the write.
func (s *Store) register(ctx context.Context, w written, oldKey string, now time.Time) (count int, err error) {
	code, err := s.eval(ctx, registerScript, []string{w.index, w.lineages}, ms(now), w.key, w.score, w.lineage, oldKey).Int64()
	if err != nil {
		return 0, s.fail("index", err)
	}
	code, count = splitCount(code)
	if code == 0 || code == 1 {
		return count, nil
	}
	return 0, statusErr(code)
}

// floor is the least time, in Unix ms, a tombstone written now for reason
// lasts: Options.TombstoneTTL, and store.ReasonTTL for a reason above
// store.ReasonExpired.
func (s *Store) floor(reason store.Reason, now time.Time) int64 {
	ttl := s.tombstoneTTL
	if reason > store.ReasonExpired {
		ttl = max(ttl, store.ReasonTTL)
	}
	return now.Add(ttl).UnixMilli()
}

// decode turns the stored v, d, s and g of key into a record.
func (s *Store) decode(key string, v, d, succ, grace any) (*store.Record, error) {
	vs, ok1 := v.(string)
	ds, ok2 := d.(string)
	if !ok1 || !ok2 {
		return nil, s.corrupt(key, "missing field")
	}
	version, err := strconv.ParseUint(vs, 10, 64)
	if err != nil {
		return nil, s.corrupt(key, "bad version")
	}
	rec := new(store.Record)
	if err := rec.UnmarshalBinary([]byte(ds)); err != nil {
		return nil, fmt.Errorf("redisstore: record %s: %w", store.Fingerprint(key), err)
	}
	if rec.Key != key {
		return nil, s.corrupt(key, "key does not match")
	}
	if sk := str(succ); sk != "" {
		// A forwarder: a rotation set its version, successor and grace.
		g, err := strconv.ParseInt(str(grace), 10, 64)
		if err != nil || !validKey(sk) || rec.Version >= version {
			return nil, s.corrupt(key, "bad forwarder fields")
		}
		rec.Successor, rec.GraceUntil = sk, time.Unix(0, g)
	} else if rec.Version != version {
		// A record copied to another key, or written around the scripts.
		return nil, s.corrupt(key, "version does not match")
	}
	rec.Version = version
	return rec, nil
}

func (s *Store) corrupt(key, what string) error {
	return fmt.Errorf("redisstore: record %s: %w: %s", store.Fingerprint(key), store.ErrCorrupt, what)
}

// fail wraps a failure of Redis (or of the context) with the operation.
func (s *Store) fail(op string, err error) error {
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// failOr returns err as it is when it is one of the contract's answers,
// and wrapped with op when it is a failure of Redis.
func (s *Store) failOr(op string, err error) error {
	for _, e := range []error{store.ErrExists, store.ErrGone, store.ErrNotFound, store.ErrConflict} {
		if errors.Is(err, e) {
			return err
		}
	}
	return s.fail(op, err)
}

// statusErr maps a script's status code to the contract's errors.
func statusErr(code int64) error {
	switch {
	case code == stOK:
		return nil
	case code == stExists:
		return store.ErrExists
	case code == stNotFound:
		return store.ErrNotFound
	case code == stConflict:
		return store.ErrConflict
	case code >= stGone && code < stGone+256:
		return store.Gone(store.Reason(code - stGone))
	case code >= stPreempted && code < stPreempted+256:
		return fmt.Errorf("%w: a revocation holds the key", store.ErrExists)
	default:
		return fmt.Errorf("redisstore: script answered unexpected status %d", code)
	}
}

// reasonOf reads a tombstone's r field; a tombstone without one has
// store.ReasonNone.
func reasonOf(v any) store.Reason {
	n, err := strconv.ParseUint(str(v), 10, 8)
	if err != nil {
		return store.ReasonNone
	}
	return store.Reason(n)
}

// dead reports whether a record expiring at exp is dead at now, to the
// millisecond, as the scripts and Redis's own expiry see it.
func dead(exp, now time.Time) bool { return now.UnixMilli() >= exp.UnixMilli() }

// ms formats t as Unix milliseconds for a script argument.
func ms(t time.Time) int64 { return t.UnixMilli() }
