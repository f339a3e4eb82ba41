package pgstore_test

import (
	"testing"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/pgstore"
	"github.com/sessionguard/sessionguard/store/storetest"
)

// TestConformance runs the store conformance suite against a real
// PostgreSQL server. Every subtest gets a fresh store on emptied tables.
func TestConformance(t *testing.T) {
	pool := newPool(t, nil)
	storetest.Run(t, func(t *testing.T) store.Store {
		truncate(t, pool)
		return newStore(t, pool, pgstore.Options{})
	})
}

// TestConformanceUnderIsolation runs the suite on a database whose
// default isolation is stricter than PostgreSQL's own (read committed),
// set on the database or by the application's connection options: every
// statement of the store then runs at that level, and a revocation racing
// a renewal must still answer as the contract says, never with a
// serialization failure (SQLSTATE 40001).
func TestConformanceUnderIsolation(t *testing.T) {
	cases := []struct {
		name, level string
		onDatabase  bool // ALTER DATABASE … SET, else the connection's RuntimeParams
	}{
		{"repeatable read on the database", "repeatable read", true},
		{"serializable on the database", "serializable", true},
		{"serializable in the connection options", "serializable", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pool := newPoolAt(t, tc.level, tc.onDatabase)
			storetest.Run(t, func(t *testing.T) store.Store {
				truncate(t, pool)
				return newStore(t, pool, pgstore.Options{})
			})
		})
	}
}
