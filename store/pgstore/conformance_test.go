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
