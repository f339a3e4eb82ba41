package boltstore

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/sessionguard/sessionguard/session"
)

// txn is one bbolt transaction with the store's buckets at hand and the
// time it judges liveness by. Its methods keep the records, the indexes and
// the tombstones in step; they are the only code that writes to the file.
type txn struct {
	tx                                             *bbolt.Tx
	records, tombstones, users, expiry, tombExpiry *bbolt.Bucket
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
// disk) if fn returns nil, rolled back otherwise.
func (s *Store) update(ctx context.Context, fn func(*txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error { return s.run(tx, fn) })
}

func (s *Store) run(tx *bbolt.Tx, fn func(*txn) error) error {
	t := &txn{tx: tx, now: stamp(s.opts.Now())}
	for _, b := range []struct {
		name []byte
		dst  **bbolt.Bucket
	}{
		{bucketRecords, &t.records}, {bucketTombstones, &t.tombstones}, {bucketUsers, &t.users},
		{bucketExpiry, &t.expiry}, {bucketTombExpiry, &t.tombExpiry},
	} {
		if *b.dst = tx.Bucket(b.name); *b.dst == nil {
			return fmt.Errorf("%w: bucket %q is missing", session.ErrCorrupt, b.name)
		}
	}
	return fn(t)
}

// live reports whether a record or tombstone ending at the stamp end is
// still in force: a record is live strictly before its Expires.
func (t *txn) live(end int64) bool { return t.now < end }

// record returns the stored record of key, live or not, or nil if there is
// none. A record that does not decode gives an error wrapping
// session.ErrCorrupt, which the Manager fails closed on (invariant I9).
func (t *txn) record(key string) (*session.Record, error) {
	raw := t.records.Get([]byte(key))
	if raw == nil {
		return nil, nil
	}
	rec := new(session.Record)
	if err := rec.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("record %s: %w", session.Fingerprint(key), err)
	}
	if rec.Key != key {
		return nil, fmt.Errorf("%w: record %s is stored under another key", session.ErrCorrupt, session.Fingerprint(key))
	}
	return rec, nil
}

// tombstone returns the end of key's tombstone, and whether it has one.
func (t *txn) tombstone(key string) (int64, bool, error) {
	v := t.tombstones.Get([]byte(key))
	if v == nil {
		return 0, false, nil
	}
	if len(v) != stampSize {
		return 0, false, fmt.Errorf("%w: tombstone %s has %d bytes", session.ErrCorrupt, session.Fingerprint(key), len(v))
	}
	return readStamp(v), true, nil
}

// lookup returns the live record of key, or an error wrapping
// session.ErrGone (a tombstone in force) or session.ErrNotFound (no record,
// or one past its Expires, swept or not).
func (t *txn) lookup(key string) (*session.Record, error) {
	end, ok, err := t.tombstone(key)
	if err != nil {
		return nil, err
	}
	if ok && t.live(end) {
		return nil, session.ErrGone
	}
	rec, err := t.record(key)
	if err != nil {
		return nil, err
	}
	if rec == nil || !t.live(stamp(rec.Expires)) {
		return nil, session.ErrNotFound
	}
	return rec, nil
}

// claim readies key for a new record: it fails with session.ErrExists if a
// live record or a tombstone in force holds the key, and otherwise clears
// what a dead record or lapsed tombstone left there.
func (t *txn) claim(key string) error {
	end, ok, err := t.tombstone(key)
	if err != nil {
		return err
	}
	if ok {
		if t.live(end) {
			return fmt.Errorf("%w: the key was deleted or renewed", session.ErrExists)
		}
		if err := t.removeTombstone(key, end); err != nil {
			return err
		}
	}
	old, err := t.record(key)
	if err != nil {
		return err
	}
	if old != nil {
		if t.live(stamp(old.Expires)) {
			return fmt.Errorf("%w: a live record holds the key", session.ErrExists)
		}
		return t.removeRecord(old)
	}
	return nil
}

// putRecord writes rec, replacing old (the record stored under the same
// key, or nil), and moves its index entries to match.
func (t *txn) putRecord(rec, old *session.Record) error {
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
	return nil
}

// removeRecord deletes rec and its index entries.
func (t *txn) removeRecord(rec *session.Record) error {
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
	return nil
}

// bury tombstones key until the stamp end, or later if a tombstone already
// holds it longer.
func (t *txn) bury(key string, end int64) error {
	cur, ok, err := t.tombstone(key)
	if err != nil {
		return err
	}
	if ok {
		if cur >= end {
			return nil
		}
		if err := t.tombExpiry.Delete(expiryKey(cur, key)); err != nil {
			return fmt.Errorf("unindex tombstone: %w", err)
		}
	}
	if err := t.tombstones.Put([]byte(key), appendStamp(nil, end)); err != nil {
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
