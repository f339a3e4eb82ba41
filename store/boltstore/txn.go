package boltstore

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/sessionguard/sessionguard/store"
)

// txn is one bbolt transaction with the store's buckets at hand and the
// time it judges liveness by. Its methods keep the records, the indexes and
// the tombstones in step; they are the only code that writes to the file.
type txn struct {
	tx                                             *bbolt.Tx
	records, tombstones, users, expiry, tombExpiry *bbolt.Bucket
	lineages, lineageUse, lineageKeys, marks       *bbolt.Bucket
	now                                            int64 // stamp of the current time
}

// view runs fn in a read-only transaction.
func (s *Store) view(ctx context.Context, fn func(*txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bbolt.Tx) error { return s.run(tx, fn) })
}

// update runs fn in a read-write transaction, committed (and synced to
// disk) if fn returns nil, rolled back otherwise; concurrent calls share
// one transaction and one sync (see group.go). fn must answer a result
// (store.ErrConflict, ErrNotFound, ErrGone, ErrExists or errNoChange)
// only before it has changed anything but garbage: the transaction it
// shares may commit.
func (s *Store) update(ctx context.Context, fn func(*txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.commit(fn)
}

func (s *Store) run(tx *bbolt.Tx, fn func(*txn) error) error {
	t := &txn{tx: tx, now: stamp(s.opts.Now())}
	for _, b := range []struct {
		name []byte
		dst  **bbolt.Bucket
	}{
		{bucketRecords, &t.records}, {bucketTombstones, &t.tombstones}, {bucketUsers, &t.users},
		{bucketExpiry, &t.expiry}, {bucketTombExpiry, &t.tombExpiry},
		{bucketLineages, &t.lineages}, {bucketLineageUse, &t.lineageUse},
		{bucketLineageKeys, &t.lineageKeys}, {bucketMarks, &t.marks},
	} {
		if *b.dst = tx.Bucket(b.name); *b.dst == nil {
			return fmt.Errorf("%w: bucket %q is missing", store.ErrCorrupt, b.name)
		}
	}
	return fn(t)
}

// live reports whether a record or tombstone ending at the stamp end is
// still in force: a record is live strictly before its Expires.
func (t *txn) live(end int64) bool { return t.now < end }

// record returns the stored record of key, live or not, or nil if there is
// none. A record that does not decode gives an error wrapping
// store.ErrCorrupt, which the Manager fails closed on (invariant I9).
func (t *txn) record(key string) (*store.Record, error) {
	raw := t.records.Get([]byte(key))
	if raw == nil {
		return nil, nil
	}
	rec := new(store.Record)
	if err := rec.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("record %s: %w", store.Fingerprint(key), err)
	}
	if rec.Key != key {
		return nil, fmt.Errorf("%w: record %s is stored under another key", store.ErrCorrupt, store.Fingerprint(key))
	}
	return rec, nil
}

// A tombstone value is the stamp until which the key stays dead, then the
// reason the record ended (one byte). A value of the stamp alone, as an
// earlier version of this package wrote, has no reason recorded.
const tombstoneSize = stampSize + 1

// tomb is a tombstone as stored: its end and its reason.
type tomb struct {
	end    int64
	reason store.Reason
}

// tombstone returns key's tombstone, and whether it has one.
func (t *txn) tombstone(key string) (tomb, bool, error) {
	v := t.tombstones.Get([]byte(key))
	if v == nil {
		return tomb{}, false, nil
	}
	switch len(v) {
	case stampSize:
		return tomb{end: readStamp(v)}, true, nil
	case tombstoneSize:
		return tomb{end: readStamp(v), reason: store.Reason(v[stampSize])}, true, nil
	}
	return tomb{}, false, fmt.Errorf("%w: tombstone %s has %d bytes", store.ErrCorrupt, store.Fingerprint(key), len(v))
}

// lookup returns the live record of key, or an error: a [*store.GoneError]
// with the tombstone's reason for a tombstone in force, one with
// store.ReasonExpired for a record past its Expires that is not yet swept,
// and store.ErrNotFound for no record at all.
func (t *txn) lookup(key string) (*store.Record, error) {
	tb, ok, err := t.tombstone(key)
	if err != nil {
		return nil, err
	}
	if ok && t.live(tb.end) {
		return nil, store.Gone(tb.reason)
	}
	rec, err := t.record(key)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, store.ErrNotFound
	}
	if !t.live(stamp(rec.Expires)) {
		return nil, store.Gone(store.ReasonExpired)
	}
	return rec, nil
}

// claim readies key for a new record: it fails with store.ErrExists if a
// live record or a tombstone in force holds the key, and otherwise clears
// what a dead record or lapsed tombstone left there.
func (t *txn) claim(key string) error {
	tb, ok, err := t.tombstone(key)
	if err != nil {
		return err
	}
	if ok {
		if t.live(tb.end) {
			return fmt.Errorf("%w: the key was deleted or renewed", store.ErrExists)
		}
		if err := t.removeTombstone(key, tb.end); err != nil {
			return err
		}
	}
	old, err := t.record(key)
	if err != nil {
		return err
	}
	if old != nil {
		if t.live(stamp(old.Expires)) {
			return fmt.Errorf("%w: a live record holds the key", store.ErrExists)
		}
		return t.removeRecord(old)
	}
	return nil
}

// putRecord writes rec, replacing old (the record stored under the same
// key, or nil), and moves its index entries to match.
func (t *txn) putRecord(rec, old *store.Record) error {
	if rec.Key == "" {
		return errors.New("empty record key")
	}
	raw, err := rec.MarshalBinary()
	if err != nil {
		return err
	}
	key := []byte(rec.Key)
	if err := t.records.Put(key, raw); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	exp := stamp(rec.Expires)
	if old == nil || stamp(old.Expires) != exp {
		if old != nil {
			if err := t.expiry.Delete(expiryKey(stamp(old.Expires), old.Key)); err != nil {
				return fmt.Errorf("unindex expiry: %w", err)
			}
		}
		if err := t.expiry.Put(expiryKey(exp, rec.Key), []byte{}); err != nil {
			return fmt.Errorf("index expiry: %w", err)
		}
	}
	if old == nil || old.UserID != rec.UserID {
		if old != nil && old.UserID != "" {
			if err := t.users.Delete(userKey(old.UserID, old.Key)); err != nil {
				return fmt.Errorf("unindex user: %w", err)
			}
		}
		if rec.UserID != "" {
			if err := t.users.Put(userKey(rec.UserID, rec.Key), []byte{}); err != nil {
				return fmt.Errorf("index user: %w", err)
			}
		}
	}
	return t.indexLineage(rec, old)
}

// removeRecord deletes rec and its index entries.
func (t *txn) removeRecord(rec *store.Record) error {
	if err := t.records.Delete([]byte(rec.Key)); err != nil {
		return fmt.Errorf("delete record: %w", err)
	}
	if err := t.expiry.Delete(expiryKey(stamp(rec.Expires), rec.Key)); err != nil {
		return fmt.Errorf("unindex expiry: %w", err)
	}
	if rec.UserID != "" {
		if err := t.users.Delete(userKey(rec.UserID, rec.Key)); err != nil {
			return fmt.Errorf("unindex user: %w", err)
		}
	}
	return t.unindexLineage(rec)
}

// end removes rec, stored and indexed, and tombstones its key with reason:
// until rec's Expires, and for a reason above store.ReasonExpired until at
// least store.ReasonTTL from now. A record already past its Expires with
// no reason to tell needs no tombstone.
func (t *txn) end(rec *store.Record, reason store.Reason) error {
	if err := t.removeRecord(rec); err != nil {
		return err
	}
	until := stamp(rec.Expires)
	if reason > store.ReasonExpired {
		until = max(until, t.now+int64(store.ReasonTTL))
	}
	if !t.live(until) {
		return nil
	}
	return t.bury(rec.Key, until, reason)
}

// bury tombstones key with reason until the stamp end, or later if a
// tombstone already holds it longer.
func (t *txn) bury(key string, end int64, reason store.Reason) error {
	cur, ok, err := t.tombstone(key)
	if err != nil {
		return err
	}
	if ok {
		end = max(end, cur.end)
		if err := t.tombExpiry.Delete(expiryKey(cur.end, key)); err != nil {
			return fmt.Errorf("unindex tombstone: %w", err)
		}
	}
	v := append(appendStamp(make([]byte, 0, tombstoneSize), end), byte(reason))
	if err := t.tombstones.Put([]byte(key), v); err != nil {
		return fmt.Errorf("write tombstone: %w", err)
	}
	if err := t.tombExpiry.Put(expiryKey(end, key), []byte{}); err != nil {
		return fmt.Errorf("index tombstone: %w", err)
	}
	return nil
}

// removeTombstone deletes key's tombstone, which ends at the stamp end.
func (t *txn) removeTombstone(key string, end int64) error {
	if err := t.tombstones.Delete([]byte(key)); err != nil {
		return fmt.Errorf("delete tombstone: %w", err)
	}
	if err := t.tombExpiry.Delete(expiryKey(end, key)); err != nil {
		return fmt.Errorf("unindex tombstone: %w", err)
	}
	return nil
}
