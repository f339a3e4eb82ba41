package sqlitestore_test

import (
	"testing"

	"github.com/sessionguard/sessionguard/internal/testsupport/managerflow"
	"github.com/sessionguard/sessionguard/store/sqlitestore"
)

// TestManager runs the session manager on the SQLite store.
func TestManager(t *testing.T) {
	managerflow.Run(t, openTemp(t, sqlitestore.Options{}))
}
