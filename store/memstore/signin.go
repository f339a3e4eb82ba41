package memstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// mark is a user's latest revocation: when, on the store's clock, and why.
type mark struct {
	at     time.Time
	reason store.Reason
}

// mark writes userID's revocation mark at now, later than the one it
// replaces, and returns it with the mark it replaced (zero when none was
// kept). s.mu must be held for writing.
func (s *Store) mark(userID string, reason store.Reason, now time.Time) (at, prior time.Time) {
	at = now
	if m, ok := s.liveMark(userID, now); ok {
		prior = m.at
		if !at.After(prior) {
			at = prior.Add(time.Nanosecond)
		}
	}
	s.marks[userID] = mark{at, reason}
	return at, prior
}

// liveMark returns userID's mark unless it is older than store.MarkTTL.
func (s *Store) liveMark(userID string, now time.Time) (mark, bool) {
	m, ok := s.marks[userID]
	if !ok || !now.Before(m.at.Add(store.MarkTTL)) {
		return mark{}, false
	}
	return m, true
}

// SignIn implements [store.Store.SignIn], under one lock: the revocation
// check, the write, and the bound on the user's sessions.
func (s *Store) SignIn(ctx context.Context, in *store.SignIn) (store.SignedIn, error) {
	if err := checkSignIn(ctx, in); err != nil {
		return store.SignedIn{}, fmt.Errorf("memstore: sign in: %w", err)
	}
	var out store.SignedIn
	var err error
	lerr := s.locked(ctx, "sign in", func(now time.Time) {
		out, err = s.signIn(in, now)
	})
	if lerr != nil {
		return store.SignedIn{}, lerr
	}
	if err != nil {
		return store.SignedIn{}, fmt.Errorf("memstore: sign in: %w", err)
	}
	return out, nil
}

func checkSignIn(ctx context.Context, in *store.SignIn) error {
	if in == nil {
		return errors.New("nil sign-in")
	}
	if err := checkArgs(ctx, in.Record); err != nil {
		return err
	}
	if in.Record.UserID == "" {
		return errors.New("sign-in of an anonymous record")
	}
	return nil
}

// signIn is SignIn with s.mu held for writing.
func (s *Store) signIn(in *store.SignIn, now time.Time) (store.SignedIn, error) {
	rec := in.Record
	start := now.Add(-max(in.Elapsed, 0) - store.SignInMargin)
	if err := s.revokedSince(rec.UserID, in, start, now); err != nil {
		return store.SignedIn{}, err
	}
	var old *store.Record
	if in.OldKey != "" {
		var err error
		if old, err = s.replaceable(in.OldKey, in.OldVersion, rec.Key, now); err != nil {
			return store.SignedIn{}, err
		}
	} else if err := s.free(rec.Key, now); err != nil {
		return store.SignedIn{}, err
	}
	if old != nil {
		s.bury(in.OldKey, old, store.ReasonRenewed, now)
	}
	s.put(rec, 1, now)
	return s.bound(rec, in.Limit, in.LimitReason, start, now), nil
}

// revokedSince refuses a sign-in that began at start (on the store's
// clock) if a revocation of the user came at or after it, or if it began
// so long ago that a mark about it may be gone.
func (s *Store) revokedSince(userID string, in *store.SignIn, start, now time.Time) error {
	if max(in.Elapsed, 0)+store.SignInMargin >= store.MarkTTL {
		return store.RevokedSince(store.ReasonNone)
	}
	m, ok := s.liveMark(userID, now)
	if ok && !m.at.Before(start) && (in.Own == nil || !m.at.Equal(in.Own.Mark)) {
		return store.RevokedSince(m.reason)
	}
	if in.Own != nil && !in.Own.Prior.IsZero() && !in.Own.Prior.Before(start) {
		return store.RevokedSince(store.ReasonNone)
	}
	return nil
}

// bound ends the least recently used lineages of rec's user past limit,
// never rec's own nor one last used at or after start, and tells how many
// remain. Within the bound it looks at no lineage: the index's size is an
// upper bound on the live ones. s.mu must be held for writing.
func (s *Store) bound(rec *store.Record, limit int, reason store.Reason, start, now time.Time) store.SignedIn {
	lineages := s.byUser[rec.UserID]
	if limit <= 0 || len(lineages) <= limit {
		return store.SignedIn{Sessions: len(lineages)}
	}
	type candidate struct {
		key  string
		used time.Time
	}
	var cands []candidate
	live := 0
	for lk, l := range lineages {
		if !s.lineageLive(l, now) {
			continue
		}
		live++
		if lk != rec.LineageKey() && l.used.Before(start) {
			cands = append(cands, candidate{lk, l.used})
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		return cmp.Or(a.used.Compare(b.used), cmp.Compare(a.key, b.key))
	})
	var ended []string
	for _, c := range cands[:min(max(live-limit, 0), len(cands))] {
		s.endLineage(rec.UserID, c.key, reason, now)
		ended = append(ended, c.key)
	}
	return store.SignedIn{Sessions: live - len(ended), Ended: ended}
}

// lineageLive reports whether one of l's records is live at now.
func (s *Store) lineageLive(l *lineage, now time.Time) bool {
	for key := range l.keys {
		if rec := s.records[key]; rec != nil && !expired(rec, now) {
			return true
		}
	}
	return false
}
