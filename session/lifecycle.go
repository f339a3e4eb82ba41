package session

import "errors"

// A LoginOption changes how [Session.Login] signs a user in.
type LoginOption func(*Session)

// RememberMe makes the sign-in persist across browser restarts: the cookie
// gets an expiry, and the session the longer Config.RememberIdleTimeout and
// Config.RememberAbsoluteTimeout. Offer it only when the user asks.
func RememberMe() LoginOption { return func(s *Session) { s.remember = true } }

// Carry names values of the session before the sign-in that the signed-in
// session keeps. By default none is kept (invariant I13): whatever an
// anonymous session holds may have been put there by an attacker who
// prepared it (a CSRF token they know, a return-to URL of their choosing)
// and must not follow the victim into their account. Name only values that
// are harmless whoever chose them, such as a shopping cart:
//
//	s.Login(user, session.Carry("cart"))
//
// Values the sign-in request itself writes are always kept. When another
// user was signed in on the session, nothing is carried whatever the keys.
func Carry(keys ...string) LoginOption {
	return func(s *Session) { s.carry = append(s.carry, keys...) }
}

// ErrEmptyUser is returned by [Session.Login] for an empty user ID.
var ErrEmptyUser = errors.New("session: empty user ID")

// Login signs userID in. Signing in is always a renewal (invariant I3): when
// the response is committed, a fresh token replaces the one the request
// came with, and the old token is dead everywhere, in the same store
// operation. A token an attacker planted before the sign-in, by a link or a
// tossed cookie, is therefore worth nothing after it (session fixation,
// CWE-384, ASVS 3.2.1).
//
// Nothing the session held before carries over, except the values named
// with [Carry] (invariant I13); what this request wrote does. The sign-in
// time is recorded for [Manager.RequireRecentAuth]. Login on a request that
// already wrote its header returns [ErrCommitted].
func (s *Session) Login(userID string, opts ...LoginOption) error {
	if s == nil {
		return ErrNoSession
	}
	if userID == "" {
		return ErrEmptyUser
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lifecycle(actLogin); err != nil {
		return err
	}
	s.newUser, s.remember, s.carry, s.notRecent = userID, false, nil, false
	for _, o := range opts {
		o(s)
	}
	s.renewCSRF()
	return nil
}

// Renew replaces the session's token with a fresh one and kills the old one,
// keeping the user, the values, the sign-in time and the deadlines. Call it
// on every change of privilege that is not a sign-in, such as a role change
// or entering an administrative mode (I3). On a request without a session
// it does nothing.
func (s *Session) Renew() error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.action == actLogin || s.action == actLogout {
		return nil // already a renewal, or nothing left to renew
	}
	return s.lifecycle(actRenew)
}

// Logout destroys the session on the server (invariant I6): its record is
// deleted and tombstoned, so a copy of the cookie replayed later is
// anonymous, and the response expires the cookie (with Clear-Site-Data when
// Config.ClearSiteDataOnLogout is set). Values written earlier in the
// request are discarded with it, flashes excepted ([Session.AddFlash]).
//
// A value put after Logout in the same request is not lost (invariant
// I15): it lands in a fresh anonymous session, with a new token, whose
// cookie the response sets instead of expiring the old one. That is how
// the classic "You have been signed out." message reaches the next page:
//
//	s.Logout()
//	s.AddFlash(session.FlashInfo, "You have been signed out.")
//
// Such a response sends Clear-Site-Data without "cookies", which would
// wipe the new cookie along with the old one.
func (s *Session) Logout() error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lifecycle(actLogout); err != nil {
		return err
	}
	s.ops = keepOnLogout(s.ops)
	s.vals = s.replayOnEmpty()
	return nil
}

func (s *Session) lifecycle(a action) error {
	if s.committed {
		s.m.emitReq(s.req, Event{Kind: EventWriteAfterCommit, Session: s.fingerprint(), Err: ErrCommitted})
		return ErrCommitted
	}
	s.action = a
	return nil
}
