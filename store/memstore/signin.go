package memstore

import (
	"context"
	"errors"
	"fmt"
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
	if s.now == nil {
		return store.SignedIn{}, fmt.Errorf("memstore: sign in: %w", ErrClosed)
	}
	// The request's start is reckoned from the arrival, not from when the
	// lock is taken: a revocation that goes first counts.
	arrived := s.now()
	var out store.SignedIn
	var err error
	lerr := s.locked(ctx, "sign in", func(now time.Time) {
		out, err = s.signIn(in, arrived, now)
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

// signIn is SignIn, which arrived at the store at arrived, with s.mu held
// for writing.
func (s *Store) signIn(in *store.SignIn, arrived, now time.Time) (store.SignedIn, error) {
	rec := in.Record
	start := arrived.Add(-max(in.Elapsed, 0) - store.SignInMargin)
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
// never rec's own nor one last used at or after start, as the contract
// says: the index's size is the count, and each lineage it goes through,
// least recently used first (the user's lru list), is ended if live and
// dropped if expired. It looks at no lineage it does not end, but for
// rec's own. s.mu must be held for writing.
func (s *Store) bound(rec *store.Record, limit int, reason store.Reason, start, now time.Time) store.SignedIn {
	lineages := s.byUser[rec.UserID]
	n := len(lineages)
	var ended []string
	for limit > 0 && n > limit {
		lk := s.leastUsed(rec.UserID, rec.LineageKey(), start)
		if lk == "" {
			break // only newer lineages are left: over the bound for now
		}
		if s.lineageLive(lineages[lk], now) {
			s.endLineage(rec.UserID, lk, reason, now)
			ended = append(ended, lk)
		} else {
			s.dropLineage(rec.UserID, lk)
		}
		n--
	}
	return store.SignedIn{Sessions: n, Ended: ended}
}

// leastUsed returns the least recently used lineage of userID last used
// before start, other than skip, or "" if there is none. s.mu must be
// held.
func (s *Store) leastUsed(userID, skip string, start time.Time) string {
	lineages := s.byUser[userID]
	for e := s.lru[userID].Front(); e != nil; e = e.Next() {
		lk := e.Value.(string)
		if lk == skip {
			continue
		}
		if !lineages[lk].used.Before(start) {
			return "" // in order of use: the rest are newer
		}
		return lk
	}
	return ""
}

// dropLineage removes userID's lineage lk, whose records have all
// expired, with its records, as the sweeper would. s.mu must be held for
// writing.
func (s *Store) dropLineage(userID, lk string) {
	for key := range s.byUser[userID][lk].keys {
		if rec := s.records[key]; rec != nil {
			s.unindex(rec)
			delete(s.records, key)
		}
	}
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
