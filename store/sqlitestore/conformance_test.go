package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/sqlitestore"
	"github.com/sessionguard/sessionguard/store/storetest"
)

// openTemp opens a store in a fresh file under t.TempDir and closes it
// when t ends.
func openTemp(t *testing.T, opts sqlitestore.Options) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "sessions.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTemp(t, sqlitestore.Options{})
	})
}
