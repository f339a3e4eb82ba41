package boltstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// A bucketMarks value: the mark's stamp, then the revocation's reason.
const markSize = stampSize + 1

// mark returns userID's revocation mark unless it is older than
// store.MarkTTL.
func (t *txn) mark(userID string) (at int64, reason store.Reason, ok bool, err error) {
	v := t.marks.Get([]byte(userID))
	if v == nil {
		return 0, 0, false, nil
	}
	if len(v) != markSize {
		return 0, 0, false, fmt.Errorf("%w: the revocation mark has %d bytes", store.ErrCorrupt, len(v))
	}
	at = readStamp(v)
	if !t.live(at + int64(store.MarkTTL)) {
		return 0, 0, false, nil
	}
	return at, store.Reason(v[stampSize]), true, nil
}

// writeMark writes userID's revocation mark at now, later than the one it
// replaces, and returns both.
func (t *txn) writeMark(userID string, reason store.Reason) (mark, prior time.Time, err error) {
	at := t.now
	prev, _, ok, err := t.mark(userID)
	if err != nil {
		return mark, prior, err
	}
	if ok {
		prior = time.Unix(0, prev)
		at = max(at, prev+1)
	}
	v := append(appendStamp(make([]byte, 0, markSize), at), byte(reason))
	if err := t.marks.Put([]byte(userID), v); err != nil {
		return mark, prior, fmt.Errorf("write revocation mark: %w", err)
	}
	return time.Unix(0, at), prior, nil
}

// revokedSince refuses a sign-in whose request began at the stamp start if
// a revocation of the user came at or after it, or if it began so long ago
// that a mark about it may be gone.
func (t *txn) revokedSince(userID string, in *store.SignIn, start int64) error {
	if max(in.Elapsed, 0)+store.SignInMargin >= store.MarkTTL {
		return store.RevokedSince(store.ReasonNone)
	}
	at, reason, ok, err := t.mark(userID)
	if err != nil {
		return err
	}
	if ok && at >= start && (in.Own == nil || at != stamp(in.Own.Mark)) {
		return store.RevokedSince(reason)
	}
	if in.Own != nil && !in.Own.Prior.IsZero() && stamp(in.Own.Prior) >= start {
		return store.RevokedSince(store.ReasonNone)
	}
	return nil
}

// SignIn implements [store.Store.SignIn] in one transaction: the
// revocation check against the user's mark, the write (Create or Rotate's,
// as in.OldKey says), and the bound, which reads the user's lineages by
// last use from their index and stops at the first one it need not end.
func (s *Store) SignIn(ctx context.Context, in *store.SignIn) (store.SignedIn, error) {
	if in == nil || in.Record == nil || in.Record.Key == "" || in.Record.UserID == "" {
		return store.SignedIn{}, errors.New("boltstore: sign in: a record with a key and a user is needed")
	}
	fresh := *in.Record
	fresh.Version = 1
	// The request's start is reckoned from the arrival, not from when the
	// write transaction runs: a revocation committed meanwhile counts.
	start := stamp(s.opts.Now()) - int64(max(in.Elapsed, 0)) - int64(store.SignInMargin)
	var out store.SignedIn
	err := s.update(ctx, func(t *txn) error {
		out = store.SignedIn{} // a group that fails is run again (see group.go)
		if err := t.revokedSince(fresh.UserID, in, start); err != nil {
			return err
		}
		var err error
		out, err = t.signIn(&fresh, in, start)
		return err
	})
	if err != nil {
		return store.SignedIn{}, opError("sign in", in.Record.Key, err)
	}
	in.Record.Version = fresh.Version
	return out, nil
}

// signIn writes rec, replacing in.OldKey if set, and bounds the user's
// lineages.
func (t *txn) signIn(rec *store.Record, in *store.SignIn, start int64) (store.SignedIn, error) {
	if in.OldKey != "" {
		old, err := t.replaceable(in.OldKey, in.OldVersion, rec.Key)
		if err != nil {
			return store.SignedIn{}, err
		}
		if err := t.end(old, store.ReasonRenewed); err != nil {
			return store.SignedIn{}, err
		}
	} else if err := t.claim(rec.Key); err != nil {
		return store.SignedIn{}, err
	}
	if err := t.putRecord(rec, nil); err != nil {
		return store.SignedIn{}, err
	}
	n := t.userLineages(rec.UserID)
	if in.Limit <= 0 || n <= in.Limit {
		return store.SignedIn{Sessions: n}, nil
	}
	var ended []string
	for _, lk := range t.leastRecentlyUsed(rec.UserID, rec.LineageKey(), start, n-in.Limit) {
		live, err := t.endLineage(rec.UserID, lk, in.LimitReason)
		if err != nil {
			return store.SignedIn{}, err
		}
		if live {
			ended = append(ended, lk)
		}
		n--
	}
	return store.SignedIn{Sessions: n, Ended: ended}, nil
}
