package session

import (
	"fmt"
	"net/http"
	"time"
)

// AuthenticatedWithin reports whether a user is signed in and signed in at
// most maxAge ago.
func (s *Session) AuthenticatedWithin(maxAge time.Duration) bool {
	at := s.AuthTime()
	if at.IsZero() || s.UserID() == "" {
		return false
	}
	return s.m.cfg.Now().Sub(at) <= maxAge
}

// RequireRecentAuth returns middleware for sensitive actions (changing a
// password or an e-mail address, payments): it lets a request through only
// if its user signed in at most maxAge ago, and otherwise answers with
// Config.ReauthHandler, which typically asks for the password again (ASVS
// 3.7.1). It must sit inside [Manager.Handler]. It panics if maxAge is not
// positive.
func (m *Manager) RequireRecentAuth(maxAge time.Duration) func(http.Handler) http.Handler {
	if maxAge <= 0 {
		panic(fmt.Sprintf("session: RequireRecentAuth needs a positive maxAge, got %v", maxAge))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := From(r)
			if s == nil {
				m.fail(w, r, fmt.Errorf("%w: RequireRecentAuth outside Manager.Handler", ErrNoSession))
				return
			}
			if !s.AuthenticatedWithin(maxAge) {
				m.emitReq(r, Event{Kind: EventReauthRequired, Session: s.Fingerprint(), UserID: s.UserID()})
				m.cfg.ReauthHandler.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
