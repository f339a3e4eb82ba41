package session

import (
	"errors"
	"net/http"
)

// emitReq emits e with the request's client, method and path filled in.
func (m *Manager) emitReq(r *http.Request, e Event) {
	if r != nil {
		e.ClientIP = m.cfg.ClientIP(r)
		e.Method = r.Method
		e.Path = r.URL.Path
	}
	m.emit(e)
}

// load reads the request's session. Only a token that the store holds as a
// live record is honoured (invariant I1): an unknown, expired, dead or
// malformed token leaves the request without a session, raises an event and
// is never adopted. The returned error is a store failure: the caller must
// fail closed (I9).
func (m *Manager) load(r *http.Request) (*Session, error) {
	s := &Session{m: m, req: r, loaded: m.cfg.Now()}
	if m.tokenInURL(r) {
		m.emitReq(r, Event{Kind: EventTokenInURL})
	}
	var buf [maxCandidates + 1]string
	tokens, total, malformed := cookieTokens(r.Header, m.cfg.CookieName, buf[:0])
	if total == 0 {
		return s, nil
	}
	s.presented = true
	var guessKey string
	if m.guard != nil && m.cfg.GuessCooldown > 0 {
		guessKey = m.cfg.GuessKey(r)
		if until := m.guard.blockedUntil(guessKey, s.loaded); !until.IsZero() {
			return nil, &TooManyBadTokensError{RetryAfter: until.Sub(s.loaded)}
		}
	}
	if total > 1 {
		// Cookie tossing: a sibling subdomain or a plain-HTTP response can add
		// a second cookie of the same name, and browsers send both.
		m.emitReq(r, Event{Kind: EventDuplicateCookie, Count: total})
	}
	if malformed > 0 {
		m.emitReq(r, Event{Kind: EventUnknownToken, Count: malformed, Err: errMalformed})
	}
	// bad counts tokens this server never issued (or no longer knows), the
	// trace of guessing; an expired or dead token is one a real browser may
	// legitimately still hold.
	bad := malformed
	sawDead := false
	var live *Record
	var liveToken string
	nlive := 0
	if len(tokens) > maxCandidates {
		// Too many to look up cheaply; none is honoured.
		bad += len(tokens)
		tokens = nil
	}
	for _, tok := range tokens {
		key := storeKey(tok)
		rec, err := m.store.Get(r.Context(), key)
		switch {
		case err == nil:
			if rec.expired(s.loaded) {
				m.emitReq(r, Event{Kind: EventExpiredToken, Session: Fingerprint(key), UserID: rec.UserID})
				continue
			}
			nlive++
			live, liveToken = rec, tok
		case errors.Is(err, ErrNotFound):
			bad++
			m.emitReq(r, Event{Kind: EventUnknownToken, Session: Fingerprint(key)})
		case errors.Is(err, ErrGone):
			sawDead = true
			m.emitReq(r, Event{Kind: EventDeadToken, Session: Fingerprint(key)})
		default:
			return nil, storeError("load", err)
		}
	}
	if bad > 0 && m.guard != nil {
		if guessKey == "" {
			guessKey = m.cfg.GuessKey(r)
		}
		if m.guard.miss(guessKey, bad, s.loaded) {
			m.emitReq(r, Event{Kind: EventTokenGuessing, Count: m.cfg.GuessLimit})
		}
	}
	if nlive != 1 {
		// Two live sessions in one request: one of them was planted. Which
		// one is the user's cannot be told, so neither is honoured.
		//
		// With none live, the browser holds a cookie that will never work
		// again; the response expires it, unless a token was dead: a dead
		// token usually means another request just renewed the session, and
		// its new cookie must not be raced away.
		s.stale = nlive == 0 && !sawDead
		return s, nil
	}
	// A token replaced by a periodic rotation still works for the grace
	// window, serving its successor: the session the browser is about to
	// switch to. At most two hops, since the grace window is shorter than
	// the rotation period.
	for hops := 0; live.Successor != ""; hops++ {
		if hops == 2 {
			return s, nil
		}
		next, err := m.store.Get(r.Context(), live.Successor)
		switch {
		case err == nil && !next.expired(s.loaded):
			live, s.forwarded = next, true
		case err == nil, errors.Is(err, ErrNotFound), errors.Is(err, ErrGone):
			// The successor was logged out, revoked or renewed: so is this.
			m.emitReq(r, Event{Kind: EventDeadToken, Session: Fingerprint(live.Key), UserID: live.UserID})
			return s, nil
		default:
			return nil, storeError("load", err)
		}
	}
	if m.cfg.ClientBinding != BindNone && live.UserAgent != "" && live.UserAgent != truncate(r.UserAgent(), maxUserAgent) {
		m.emitReq(r, Event{Kind: EventClientChanged, Session: Fingerprint(live.Key), UserID: live.UserID})
		if m.cfg.ClientBinding == BindUserAgentStrict {
			if err := m.destroy(r.Context(), live); err != nil {
				return nil, storeError("unbind", err)
			}
			return s, nil
		}
	}
	vals, err := decodeValues(live.Data)
	if err != nil {
		return nil, storeError("decode", err)
	}
	s.rec, s.token, s.vals = live, liveToken, vals
	s.touch = s.loaded.Sub(live.LastSeen) >= m.cfg.TouchInterval
	s.rotateDue = m.cfg.RotateEvery > 0 && !s.forwarded && live.UserID != "" &&
		s.loaded.Sub(live.Created) >= m.cfg.RotateEvery
	return s, nil
}

var errMalformed = errors.New("malformed session cookie")
