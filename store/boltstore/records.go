package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/sessionguard/sessionguard/session"
)

// opError adds the operation and the session's fingerprint to err. Store
// keys are hashes of tokens, but even so only the fingerprint is shown, as
// in the Manager's events (invariant I4).
func opError(op, key string, err error) error {
	return fmt.Errorf("boltstore: %s %s: %w", op, session.Fingerprint(key), err)
}

// errNoChange rolls back a write transaction that found nothing to do, so
// that it costs no disk sync.
var errNoChange = errors.New("no change")

// Get returns the live record of key. A record past its Expires is
// [session.ErrNotFound] whether or not the sweeper has removed it yet; a key
// whose tombstone is in force is [session.ErrGone]; a record that does not
// decode is an error wrapping [session.ErrCorrupt]. ctx is checked before
// the read starts.
func (s *Store) Get(ctx context.Context, key string) (*session.Record, error) {
	var rec *session.Record
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
// [session.ErrExists] if a live record or a tombstone holds rec.Key; an
// expired record or tombstone under the key is cleared first.
func (s *Store) Create(ctx context.Context, rec *session.Record) error {
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
// [session.ErrNotFound], [session.ErrGone] or [session.ErrConflict] and
// writes nothing otherwise. The user and expiry indexes move with the
// record in the same transaction.
func (s *Store) Update(ctx context.Context, rec *session.Record) error {
	next := *rec
	err := s.update(ctx, func(t *txn) error {
		cur, err := t.lookup(rec.Key)
		if err != nil {
			return err
		}
		if cur.Version != rec.Version {
			return fmt.Errorf("%w: stored version %d, loaded %d", session.ErrConflict, cur.Version, rec.Version)
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

// Rotate tombstones oldKey, which must be live at oldVersion, and creates
// next at version 1, in one transaction: either both happen or neither
// does. The tombstone lasts until the old record's Expires. next.Key must
// be free as for [Store.Create]; a next.Key equal to oldKey is refused
// with [session.ErrExists], since renewing to the same key would keep a
// token an attacker may hold (invariant I3).
func (s *Store) Rotate(ctx context.Context, oldKey string, oldVersion uint64, next *session.Record) error {
	if next.Key == oldKey {
		return opError("rotate", oldKey, fmt.Errorf("%w: the new key is the old one", session.ErrExists))
	}
	fresh := *next
	fresh.Version = 1
	err := s.update(ctx, func(t *txn) error {
		cur, err := t.lookup(oldKey)
		if err != nil {
			return err
		}
		if cur.Version != oldVersion {
			return fmt.Errorf("%w: stored version %d, loaded %d", session.ErrConflict, cur.Version, oldVersion)
		}
		if err := t.claim(fresh.Key); err != nil {
			return fmt.Errorf("new key %s: %w", session.Fingerprint(fresh.Key), err)
		}
		if err := t.removeRecord(cur); err != nil {
			return err
		}
		if err := t.bury(oldKey, stamp(cur.Expires)); err != nil {
			return err
		}
		return t.putRecord(&fresh, nil)
	})
	if err != nil {
		return opError("rotate", oldKey, err)
	}
	next.Version = fresh.Version
	return nil
}

// Delete removes the record of key and tombstones the key until the
// record's Expires, so that the token can be neither used nor created
// again while the record would have lived. Deleting a missing, expired or
// already tombstoned key is not an error; a tombstone is never shortened.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.update(ctx, func(t *txn) error {
		rec, err := t.record(key)
		if err != nil {
			return err
		}
		if rec == nil {
			return errNoChange
		}
		if err := t.removeRecord(rec); err != nil {
			return err
		}
		if end := stamp(rec.Expires); t.live(end) {
			return t.bury(key, end)
		}
		return nil // already dead: nothing left to hold the key for
	})
	if err != nil && !errors.Is(err, errNoChange) {
		return opError("delete", key, err)
	}
	return nil
}

// ListUser returns the live records of userID, read through the user index
// only. Entries whose record has expired, died or changed hands are
// skipped, and then pruned in a write transaction of their own. An empty
// userID lists nothing: anonymous records are not indexed.
func (s *Store) ListUser(ctx context.Context, userID string) ([]*session.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("boltstore: list user: %w", err)
	}
	if userID == "" {
		return nil, nil
	}
	prefix := userPrefix(userID)
	var recs []*session.Record
	var dead []string
	err := s.view(ctx, func(t *txn) error {
		c := t.users.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			key := string(k[len(prefix):])
			rec, err := t.lookup(key)
			switch {
			case err == nil && rec.UserID == userID:
				recs = append(recs, rec)
			case err == nil, errors.Is(err, session.ErrNotFound), errors.Is(err, session.ErrGone):
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
