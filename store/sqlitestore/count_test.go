package sqlitestore_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/sqlitestore"
)

// Count counts live records only: not tombstones, not expired rows.
func TestCount(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "count.db"), sqlitestore.Options{})
	checkCount(t, s)
}

func checkCount(t *testing.T, s store.Store) {
	t.Helper()
	short := newRecord(t, "")
	short.LastSeen, short.IdleTimeout = time.Now(), 200*time.Millisecond
	short.Expires = short.LastSeen.Add(short.IdleTimeout)
	recs := []*store.Record{newRecord(t, "alice"), newRecord(t, "alice"), short, newRecord(t, "bob")}
	for _, r := range recs {
		if err := s.Create(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(t.Context(), recs[3].Key, store.ReasonNone); err != nil {
		t.Fatal(err)
	}
	c := s.(store.Counter)
	if n, err := c.Count(t.Context()); err != nil || n != 3 {
		t.Fatalf("Count = %d, %v; want 3", n, err)
	}
	time.Sleep(time.Until(short.Expires) + 50*time.Millisecond)
	if n, err := c.Count(t.Context()); err != nil || n != 2 {
		t.Fatalf("Count after one expired = %d, %v; want 2", n, err)
	}
}
