package pgstore_test

import (
	"testing"

	"github.com/sessionguard/sessionguard/internal/testsupport/managerflow"
	"github.com/sessionguard/sessionguard/store/pgstore"
)

// TestManager runs the session manager on the PostgreSQL store.
func TestManager(t *testing.T) {
	managerflow.Run(t, newStore(t, newPool(t, nil), pgstore.Options{}))
}
