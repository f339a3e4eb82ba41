package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// ErrSignInRevoked is given to [Config.ErrorHandler] (wrapped; test it with
// errors.Is) when a sign-in is refused because the user's sessions were
// revoked ([Manager.RevokeAll], [Session.RevokeOthers]) after its request
// began, on this instance or any other: the request may have checked a
// password that is no longer valid (invariant I11). Nothing was written;
// [Session.Ended] tells the revocation's reason, typically
// [EndCredentialsChanged], so that the page can say "your password was
// just changed, sign in again". [DefaultErrorHandler] answers 409 Conflict.
var ErrSignInRevoked = errors.New("session: sign-in refused: the user's sessions were revoked while it ran")

// ownRevocation is a revocation of a user's sessions made by the request
// itself. Its sign-in of that user is not refused for it, since the
// request signs in after it; but a revocation by anyone else after the
// request began still refuses it: the store checks the Prior of the first
// own revocation, and the session layer checks that each later own
// revocation replaced the one before (doomed, when not).
type ownRevocation struct {
	rev    store.Revocation
	doomed bool
}

// noteRevocation records rev, a revocation of userID by this request.
// s.mu must be held.
func (s *Session) noteRevocation(userID string, rev store.Revocation) {
	if s.revoked == nil {
		s.revoked = make(map[string]*ownRevocation)
	}
	own := s.revoked[userID]
	if own == nil {
		s.revoked[userID] = &ownRevocation{rev: rev}
		return
	}
	if !rev.Prior.Equal(own.rev.Mark) {
		own.doomed = true // another revocation came in between
	}
	own.rev.Mark = rev.Mark // the Prior stays the first one's
}

// signIn writes the sign-in of next, replacing base when it is not nil,
// in the store's one sign-in write: the revocation check (I11) and the
// bound on the user's sessions go with it.
func (s *Session) signIn(ctx context.Context, base, next *store.Record) error {
	in := &store.SignIn{
		Record:      next,
		Elapsed:     s.m.cfg.Now().Sub(s.loaded),
		Limit:       max(s.m.cfg.MaxSessionsPerUser, 0),
		LimitReason: EndLimit.storeReason(),
	}
	if base != nil {
		in.OldKey, in.OldVersion = base.Key, base.Version
	}
	if own := s.revoked[next.UserID]; own != nil {
		if own.doomed {
			return store.RevokedSince(store.ReasonNone)
		}
		in.Own = &own.rev
	} else {
		in.Own = s.m.recent.before(next.UserID, s.began)
	}
	out, err := s.m.store.SignIn(ctx, in)
	if err != nil {
		return err
	}
	for _, l := range out.Ended {
		s.m.emitReq(s.req, Event{Kind: EventLimit, Session: store.Fingerprint(l), UserID: next.UserID, Reason: EndLimit})
	}
	return nil
}

// signInRefused answers a sign-in that a revocation overtook: the request
// is told why, and the error handler answers.
func (s *Session) signInRefused(err error) error {
	s.ended = EndAllSessionsEnded
	var rs *store.RevokedSinceError
	if errors.As(err, &rs) && endReasonOf(rs.Reason) != EndNone {
		s.ended = endReasonOf(rs.Reason)
	}
	s.m.emitReq(s.req, Event{Kind: EventSignInRevoked, UserID: s.newUser, Reason: s.ended})
	return fmt.Errorf("%w: %w", ErrSignInRevoked, err)
}

// recentRevocations remembers, for SignInMargin, the latest revocation this
// Manager made of each user and when it returned, on time.Now. A sign-in
// whose request began after it returned, in this process, passes it to the
// store as its own ([store.SignIn.Own]): its mark does not refuse the
// sign-in, which the store's clock, compared with a margin, would do for
// SignInMargin. A sign-in of the user on another instance, or one that
// began before, is judged by the store alone.
type recentRevocations struct {
	mu      sync.Mutex
	byUser  map[string]recentRevocation
	pruneAt int // the size at which note next forgets old entries
}

type recentRevocation struct {
	rev      store.Revocation
	returned time.Time
}

// note records rev, a revocation of userID that returned at returned, and
// forgets those older than store.SignInMargin (past that, the margin no
// longer covers their marks) now and then, so that the map holds about
// the revocations of the last SignInMargin.
func (r *recentRevocations) note(userID string, rev store.Revocation, returned time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.byUser) >= r.pruneAt {
		// Amortized: a burst of revocations does not go over the whole
		// map at each one.
		for u, e := range r.byUser {
			if returned.Sub(e.returned) > store.SignInMargin {
				delete(r.byUser, u)
			}
		}
		r.pruneAt = max(64, 2*len(r.byUser))
	}
	if r.byUser == nil {
		r.byUser = make(map[string]recentRevocation)
	}
	r.byUser[userID] = recentRevocation{rev, returned}
}

// before returns the latest revocation of userID made by this Manager
// that returned before began, or nil. Its Prior is cleared: every mark up
// to its own was written before it returned, so before began, and must not
// refuse the sign-in either.
func (r *recentRevocations) before(userID string, began time.Time) *store.Revocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byUser[userID]
	if !ok || !e.returned.Before(began) {
		return nil
	}
	return &store.Revocation{Ended: e.rev.Ended, Mark: e.rev.Mark}
}
