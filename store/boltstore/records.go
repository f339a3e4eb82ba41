package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// opError adds the operation and the session's fingerprint to err. Store
// keys are hashes of tokens, but even so only the fingerprint is shown, as
// in the Manager's events (invariant I4).
func opError(op, key string, err error) error {
	return fmt.Errorf("boltstore: %s %s: %w", op, store.Fingerprint(key), err)
}

// errNoChange rolls back a write transaction that found nothing to do, so
// that it costs no disk sync.
var errNoChange = errors.New("no change")

// Get returns the live record of key. A record past its Expires is a
// [*store.GoneError] with [store.ReasonExpired] until the sweeper removes
// it, then [store.ErrNotFound]; a key whose tombstone is in force is a
// *store.GoneError with the tombstone's reason; a record that does not
// decode is an error wrapping [store.ErrCorrupt]. ctx is checked before
// the read starts.
func (s *Store) Get(ctx context.Context, key string) (*store.Record, error) {
	var rec *store.Record
	err := s.view(ctx, func(t *txn) error {
		var err error
		rec, err = t.lookup(key)
		return err
	})
	if err != nil {
		return nil, opError("get", key, err)
	}
	return rec, nil
}

// Create stores rec at version 1 and sets rec.Version. It fails with
// [store.ErrExists] if a live record or a tombstone holds rec.Key; an
// expired record or tombstone under the key is cleared first.
func (s *Store) Create(ctx context.Context, rec *store.Record) error {
	next := *rec
	next.Version = 1
	err := s.update(ctx, func(t *txn) error {
		if err := t.claim(next.Key); err != nil {
			return err
		}
		return t.putRecord(&next, nil)
	})
	if err != nil {
		return opError("create", rec.Key, err)
	}
	rec.Version = next.Version
	return nil
}

// Update replaces the live record rec.Key if it is at rec.Version, then sets
// rec.Version to the new version. It never creates a record; it fails with
// [store.ErrNotFound], [store.ErrGone] or [store.ErrConflict] and
// writes nothing otherwise. The user and expiry indexes move with the
// record in the same transaction.
func (s *Store) Update(ctx context.Context, rec *store.Record) error {
	next := *rec
	err := s.update(ctx, func(t *txn) error {
		cur, err := t.lookup(rec.Key)
		if err != nil {
			return err
		}
		if cur.Version != rec.Version {
			return fmt.Errorf("%w: stored version %d, loaded %d", store.ErrConflict, cur.Version, rec.Version)
		}
		next.Version = cur.Version + 1
		return t.putRecord(&next, cur)
	})
	if err != nil {
		return opError("update", rec.Key, err)
	}
	rec.Version = next.Version
	return nil
}

// Rotate replaces oldKey, which must be live at oldVersion, by next,
// created at version 1, in one transaction: either all of it happens or
// none does. With a zero graceUntil the old record is removed and its key
// tombstoned with [store.ReasonRenewed] until the old record's Expires;
// otherwise the old record stays, at its version plus one, as a forwarder
// to next (Successor and GraceUntil set). next.Key must be free as for
// [Store.Create]; a next.Key equal to oldKey is refused with
// [store.ErrExists], since renewing to the same key would keep a token an
// attacker may hold.
func (s *Store) Rotate(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time) error {
	fresh := *next
	fresh.Version = 1
	err := s.update(ctx, func(t *txn) error {
		cur, err := t.replaceable(oldKey, oldVersion, fresh.Key)
		if err != nil {
			return err
		}
		if graceUntil.IsZero() {
			if err := t.end(cur, store.ReasonRenewed); err != nil {
				return err
			}
		} else {
			fwd := *cur
			fwd.Version = cur.Version + 1
			fwd.Successor, fwd.GraceUntil = fresh.Key, graceUntil
			if err := t.putRecord(&fwd, cur); err != nil {
				return err
			}
		}
		return t.putRecord(&fresh, nil)
	})
	if err != nil {
		return opError("rotate", oldKey, err)
	}
	next.Version = fresh.Version
	return nil
}

// replaceable returns the record oldKey if it is live at oldVersion and
// newKey can be claimed for its replacement, or the error Rotate gives.
func (t *txn) replaceable(oldKey string, oldVersion uint64, newKey string) (*store.Record, error) {
	if newKey == oldKey {
		return nil, fmt.Errorf("%w: the new key is the old one", store.ErrExists)
	}
	cur, err := t.lookup(oldKey)
	if err != nil {
		return nil, err
	}
	if cur.Version != oldVersion {
		return nil, fmt.Errorf("%w: stored version %d, loaded %d", store.ErrConflict, cur.Version, oldVersion)
	}
	if err := t.claim(newKey); err != nil {
		return nil, fmt.Errorf("new key %s: %w", store.Fingerprint(newKey), err)
	}
	return cur, nil
}

// Delete removes the record of key and tombstones the key with reason
// until the record's Expires, and for a reason above
// [store.ReasonExpired] until at least [store.ReasonTTL] from now, so that
// the token can be neither used nor created again and the reason can be
// told. Deleting a missing or already tombstoned key is not an error and
// writes nothing; a tombstone is never shortened.
func (s *Store) Delete(ctx context.Context, key string, reason store.Reason) error {
	err := s.update(ctx, func(t *txn) error {
		rec, err := t.record(key)
		if err != nil {
			return err
		}
		if rec == nil {
			return errNoChange
		}
		return t.end(rec, reason)
	})
	if err != nil && !errors.Is(err, errNoChange) {
		return opError("delete", key, err)
	}
	return nil
}

// RevokeUser tombstones with reason every record of userID whose lineage
// ([store.Record.LineageKey]) is not keepLineage ("" keeps none), and
// writes the user's revocation mark, in one transaction; it returns how
// many live records it ended and the mark. Every Create, Rotate and SignIn
// updates the user index in its own transaction, and bbolt runs write
// transactions one at a time, so no record of the user can be made or
// renewed while the revocation runs.
func (s *Store) RevokeUser(ctx context.Context, userID, keepLineage string, reason store.Reason) (store.Revocation, error) {
	rev, err := s.revoke(ctx, userID, func(rec *store.Record) bool { return rec.LineageKey() != keepLineage }, reason, true)
	if err != nil {
		return store.Revocation{}, fmt.Errorf("boltstore: revoke user: %w", err)
	}
	return rev, nil
}

// RevokeLineage tombstones with reason every record of userID whose
// lineage is lineage, in one transaction, and returns how many live
// records it ended.
func (s *Store) RevokeLineage(ctx context.Context, userID, lineage string, reason store.Reason) (int, error) {
	rev, err := s.revoke(ctx, userID, func(rec *store.Record) bool { return rec.LineageKey() == lineage }, reason, false)
	if err != nil {
		return 0, fmt.Errorf("boltstore: revoke lineage: %w", err)
	}
	return rev.Ended, nil
}

// revoke ends, in one write transaction, the records of userID that ends
// selects, reading them through the user index only, and writes the
// user's mark when mark is set.
func (s *Store) revoke(ctx context.Context, userID string, ends func(*store.Record) bool, reason store.Reason, mark bool) (store.Revocation, error) {
	if err := ctx.Err(); err != nil {
		return store.Revocation{}, err
	}
	if userID == "" {
		return store.Revocation{}, nil
	}
	var rev store.Revocation
	err := s.update(ctx, func(t *txn) error {
		rev = store.Revocation{} // a group that fails is run again (see group.go): count afresh
		n, changed, err := t.revoke(userID, ends, reason)
		if err != nil {
			return err
		}
		rev.Ended = n
		if mark {
			rev.Mark, rev.Prior, err = t.writeMark(userID, reason)
			return err
		}
		if !changed {
			return errNoChange // nothing to commit, nor to sync
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNoChange) {
		return store.Revocation{}, err
	}
	return rev, nil
}

// revoke ends the records of userID that ends selects, and returns how
// many of them were live and whether it changed anything.
func (t *txn) revoke(userID string, ends func(*store.Record) bool, reason store.Reason) (n int, changed bool, err error) {
	prefix := userPrefix(userID)
	// Collect first: ending a record deletes its index entry, which must
	// not happen under the cursor.
	var keys []string
	c := t.users.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, string(k[len(prefix):]))
	}
	for _, key := range keys {
		rec, err := t.record(key)
		if err != nil {
			return 0, false, err
		}
		if rec == nil || rec.UserID != userID {
			// A stale entry (ListUser prunes them): nothing to end.
			if err := t.users.Delete(userKey(userID, key)); err != nil {
				return 0, false, fmt.Errorf("unindex user: %w", err)
			}
			changed = true
			continue
		}
		if !ends(rec) {
			continue
		}
		if t.live(stamp(rec.Expires)) {
			n++
		}
		if err := t.end(rec, reason); err != nil {
			return 0, false, err
		}
		changed = true
	}
	return n, changed, nil
}

// ListUser returns the live records of userID, read through the user index
// only. Entries whose record has expired, died or changed hands are
// skipped, and then pruned in a write transaction of their own. An empty
// userID lists nothing: anonymous records are not indexed.
func (s *Store) ListUser(ctx context.Context, userID string) ([]*store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("boltstore: list user: %w", err)
	}
	if userID == "" {
		return nil, nil
	}
	prefix := userPrefix(userID)
	var recs []*store.Record
	var dead []string
	err := s.view(ctx, func(t *txn) error {
		c := t.users.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			key := string(k[len(prefix):])
			rec, err := t.lookup(key)
			switch {
			case err == nil && rec.UserID == userID:
				recs = append(recs, rec)
			case err == nil, errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
				dead = append(dead, key)
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: list user: %w", err)
	}
	if len(dead) > 0 {
		if err := s.prune(ctx, userID, dead); err != nil {
			return nil, fmt.Errorf("boltstore: list user: prune: %w", err)
		}
	}
	return recs, nil
}

// prune removes the dead user index entries ListUser met, checking each
// again since the read: the record may have been made anew meanwhile.
func (s *Store) prune(ctx context.Context, userID string, keys []string) error {
	return s.update(ctx, func(t *txn) error {
		for _, key := range keys {
			rec, err := t.record(key)
			if err != nil {
				return err
			}
			switch {
			case rec == nil || rec.UserID != userID:
				if err := t.users.Delete(userKey(userID, key)); err != nil {
					return fmt.Errorf("unindex user: %w", err)
				}
			case !t.live(stamp(rec.Expires)):
				if err := t.removeRecord(rec); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
