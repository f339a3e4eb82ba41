package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// userCounter checks a store.UserCounter: its writes keep the contract of
// Create and Rotate, and its counts never fall below the user's live
// lineages. It is skipped for a store that is not one.
func (s suite) userCounter(t *testing.T) {
	probe := s.store(t)
	if _, ok := probe.(store.UserCounter); !ok {
		t.Skip("the store is not a store.UserCounter")
	}
	counter := func(t *testing.T) (store.Store, store.UserCounter) {
		st := s.store(t)
		return st, st.(store.UserCounter)
	}
	t.Run("CountsAtLeastTheLineages", func(t *testing.T) {
		st, uc := counter(t)
		ctx := t.Context()
		var recs []*store.Record
		for i := range 5 {
			rec := newRecord(t, "alice")
			n, err := uc.CreateCounting(ctx, rec)
			if err != nil {
				t.Fatalf("CreateCounting: %v", err)
			}
			if rec.Version != 1 {
				t.Errorf("CreateCounting left Version %d, want 1", rec.Version)
			}
			if n < i+1 {
				t.Errorf("CreateCounting of alice's session %d counted %d", i+1, n)
			}
			recs = append(recs, rec)
		}
		mustCreate(t, st, newRecord(t, "bob"))
		// A renewal keeps the lineage: still five.
		next := newRecord(t, "alice")
		next.Lineage = recs[0].LineageKey()
		n, err := uc.RotateCounting(ctx, recs[0].Key, recs[0].Version, next, time.Time{})
		if err != nil {
			t.Fatalf("RotateCounting: %v", err)
		}
		if n < 5 || next.Version != 1 {
			t.Errorf("RotateCounting: count %d, version %d; want at least 5, version 1", n, next.Version)
		}
		if _, err := st.Get(ctx, recs[0].Key); !errors.Is(err, store.ErrGone) {
			t.Errorf("the renewed-away record: Get: %v, want ErrGone", err)
		}
		// A sign-in from an anonymous session makes a sixth.
		anon := newRecord(t, "")
		if n, err := uc.CreateCounting(ctx, anon); err != nil || n != 0 {
			t.Fatalf("CreateCounting of an anonymous record: %d, %v; want 0, nil", n, err)
		}
		signed := newRecord(t, "alice")
		if n, err := uc.RotateCounting(ctx, anon.Key, anon.Version, signed, time.Time{}); err != nil || n < 6 {
			t.Errorf("RotateCounting to alice: %d, %v; want at least 6", n, err)
		}
		// Revoking every lineage but one leaves a bound of at least 2 after
		// one more sign-in.
		if _, err := st.RevokeUser(ctx, "alice", signed.LineageKey(), store.ReasonRenewed+10); err != nil {
			t.Fatal(err)
		}
		if n, err := uc.CreateCounting(ctx, newRecord(t, "alice")); err != nil || n < 2 {
			t.Errorf("CreateCounting after the revocation: %d, %v; want at least 2", n, err)
		}
		if n, err := uc.CreateCounting(ctx, newRecord(t, "carol")); err != nil || n < 1 {
			t.Errorf("CreateCounting of a new user: %d, %v; want at least 1", n, err)
		}
	})
	t.Run("KeepsTheContract", func(t *testing.T) {
		st, uc := counter(t)
		ctx := t.Context()
		rec := newRecord(t, "alice")
		mustCreate(t, st, rec)
		dup := rec.Clone()
		dup.Version = 7
		if n, err := uc.CreateCounting(ctx, dup); !errors.Is(err, store.ErrExists) || n != 0 || dup.Version != 7 {
			t.Errorf("CreateCounting of a taken key: %d, %v, version %d; want 0, ErrExists, 7", n, err, dup.Version)
		}
		next := newRecord(t, "alice")
		if n, err := uc.RotateCounting(ctx, rec.Key, rec.Version+1, next, time.Time{}); !errors.Is(err, store.ErrConflict) || n != 0 || next.Version != 0 {
			t.Errorf("RotateCounting at a stale version: %d, %v, version %d; want 0, ErrConflict, 0", n, err, next.Version)
		}
		if _, err := st.Get(ctx, next.Key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the refused rotation's record: Get: %v, want ErrNotFound", err)
		}
		if n, err := uc.RotateCounting(ctx, rec.Key, rec.Version, next, time.Time{}); err != nil || n < 1 {
			t.Fatalf("RotateCounting: %d, %v", n, err)
		}
		if n, err := uc.RotateCounting(ctx, rec.Key, rec.Version, newRecord(t, "alice"), time.Time{}); !errors.Is(err, store.ErrGone) || n != 0 {
			t.Errorf("RotateCounting of a renewed-away record: %d, %v; want 0, ErrGone", n, err)
		}
		if _, err := st.RevokeUser(ctx, "alice", "", store.ReasonRenewed+10); err != nil {
			t.Fatal(err)
		}
		if n, err := uc.RotateCounting(ctx, next.Key, next.Version, newRecord(t, "alice"), time.Time{}); !errors.Is(err, store.ErrGone) || n != 0 {
			t.Errorf("RotateCounting of a revoked record: %d, %v; want 0, ErrGone", n, err)
		}
	})
}
