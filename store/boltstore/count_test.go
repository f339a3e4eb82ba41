package boltstore

import (
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// Count counts live records only: not expired ones the sweeper has not
// reached, not tombstones.
func TestCount(t *testing.T) {
	clk := newClock()
	s := openAt(t, tempPath(t), Options{Now: clk.Now, SweepInterval: time.Hour})
	now := clk.Now()
	for _, r := range []*store.Record{
		testRecord("a", "alice", now, time.Hour),
		testRecord("b", "alice", now, time.Hour),
		testRecord("c", "", now, time.Minute),
		testRecord("d", "bob", now, time.Hour),
	} {
		if err := s.Create(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(t.Context(), testKey("d"), store.ReasonNone); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(t.Context()); err != nil || n != 3 {
		t.Fatalf("Count = %d, %v; want 3", n, err)
	}
	clk.Advance(2 * time.Minute)
	if n, err := s.Count(t.Context()); err != nil || n != 2 {
		t.Fatalf("Count after c expired = %d, %v; want 2", n, err)
	}
}
