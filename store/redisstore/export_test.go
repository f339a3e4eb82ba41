package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionguard/sessionguard/store"
)

// NewSharded returns a store that uses the sharded layout (one key per
// script, two-step rotation) whatever its client, so that the layout can
// be tested against a single server too.
func NewSharded(client redis.UniversalClient, opts Options) *Store {
	s := New(client, opts)
	s.sharded = true
	return s
}

// Sharded reports whether s uses the sharded layout.
func (s *Store) Sharded() bool { return s.sharded }

// LoadScripts loads every script of the store into c, so that round-trip
// counts are not disturbed by the EVALSHA-then-EVAL fallback.
func LoadScripts(ctx context.Context, c redis.Scripter) error {
	for _, sc := range []*redis.Script{createScript, updateScript, rotateScript, retireScript, registerScript,
		unregisterScript, deleteScript, revokeScript, selectScript, endScript, fieldsScript, listScript,
		scanScript, pruneScript, touchScript, signInScript, signInRegisterScript, boundScript, settleScript} {
		if err := sc.Load(ctx, c).Err(); err != nil {
			return err
		}
	}
	return nil
}

// RecordKey, IndexKey and LineagesKey expose the key layout to tests.
func (s *Store) RecordKey(key string) string      { return s.recordKey(key) }
func (s *Store) IndexKey(userID string) string    { return s.indexKey(userID) }
func (s *Store) LineagesKey(userID string) string { return s.lineagesKey(userID) }
func (s *Store) MarkKey(userID string) string     { return s.markKey(userID) }

// SelectOnly runs the first step of a sharded revocation of userID's
// records outside keepLineage, and not the second, as a process that dies
// between them would leave it.
func (s *Store) SelectOnly(ctx context.Context, userID, keepLineage string, reason store.Reason) error {
	return s.eval(ctx, selectScript, []string{s.indexKey(userID), s.lineagesKey(userID), s.markKey(userID)},
		ms(time.Now()), "keep", keepLineage, int(reason)).Err()
}

// RegisterOnly runs the first step of a sharded Create of rec, its index
// entry, and not the second, as a Create or Rotate between its two steps
// leaves it.
func (s *Store) RegisterOnly(ctx context.Context, rec *store.Record) error {
	w, err := s.write(rec, 1)
	if err != nil {
		return err
	}
	_, err = s.register(ctx, w, "", time.Now())
	return err
}

// CheckRollback runs one check of the rollback watch of a store from
// Open, now, as its ticker would.
func (s *Store) CheckRollback(ctx context.Context) error { return s.guard.check(ctx) }

// RollbackFloor returns the floor the store enforces, 0 for none.
func (s *Store) RollbackFloor() int64 { return s.guard.floor.Load() }

// RollbackAcknowledged returns the bumps of the store's counter its
// ending writes saw acknowledged.
func (s *Store) RollbackAcknowledged() int64 { return s.guard.acked.Load() }
