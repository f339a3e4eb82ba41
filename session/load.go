package session

import (
	"errors"
	"net/http"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// load reads the request's session. Only a token that the store holds as a
// live record is honoured (invariant I1): an unknown, expired, dead or
// malformed token leaves the request without a session, raises an event and
// is never adopted. The returned error is a store failure: the caller must
// fail closed (I9).
func (m *Manager) load(r *http.Request) (*Session, error) {
	s := &Session{m: m, req: r, loaded: m.cfg.Now()}
	if m.tokenInURL(r) {
		s.notices |= NoticeTokenInURL
		m.emitReq(r, Event{Kind: EventTokenInURL})
	}
	var buf [maxCandidates + 1]string
	tokens, total, malformed := cookieTokens(r.Header, m.cfg.Cookie.Name, buf[:0])
	if total == 0 {
		return s, nil
	}
	s.presented = true
	var guessKey string
	if m.guard != nil && m.cfg.Guessing.Cooldown > 0 {
		guessKey = m.cfg.Guessing.Key(r)
		if until := m.guard.blockedUntil(guessKey, s.loaded); !until.IsZero() {
			// In a cool-down only tokens whose tag verifies are looked at:
			// issued here, they are no guesses, so a client behind the
			// guesser's address keeps its session, and nothing else
			// reaches the store.
			if tokens = m.onlyIssued(tokens); len(tokens) == 0 {
				return nil, &TooManyBadTokensError{RetryAfter: until.Sub(s.loaded)}
			}
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
	// bad counts tokens this server never issued, the trace of guessing. An
	// expired or ended token is one an honest browser may still hold.
	bad := malformed
	renewed := false
	var live *store.Record
	var liveToken string
	nlive := 0
	if len(tokens) > maxCandidates {
		// Too many to look up cheaply; none is honoured.
		bad += len(tokens)
		tokens = nil
	}
	for _, tok := range tokens {
		key := storeKey(tok)
		check := checkToken(m.cfg.Keys, tok)
		if check == tokenForged {
			// Invented (or tagged under a key since removed): a guess,
			// refused before the store is asked.
			bad++
			m.emitReq(r, Event{Kind: EventUnknownToken, Session: store.Fingerprint(key), Err: errBadTag})
			continue
		}
		rec, err := m.store.Get(r.Context(), key)
		switch {
		case err == nil:
			if m.expired(rec, s.loaded) {
				s.ended, s.endedFP = EndTimeout, store.Fingerprint(key)
				m.emitReq(r, Event{Kind: EventExpiredToken, Session: store.Fingerprint(key), UserID: rec.UserID, Reason: EndTimeout})
				continue
			}
			nlive++
			live, liveToken = rec, tok
		case errors.Is(err, store.ErrNotFound) && check == tokenIssued:
			// Issued here, forgotten by the store: it ended long ago.
			m.emitReq(r, Event{Kind: EventForgottenToken, Session: store.Fingerprint(key)})
		case errors.Is(err, store.ErrNotFound):
			bad++
			m.emitReq(r, Event{Kind: EventUnknownToken, Session: store.Fingerprint(key)})
		case errors.Is(err, store.ErrGone):
			why, _ := store.ReasonOf(err)
			switch why {
			case store.ReasonRenewed:
				renewed = true
				m.emitReq(r, Event{Kind: EventDeadToken, Session: store.Fingerprint(key)})
			case store.ReasonExpired:
				s.ended, s.endedFP = EndTimeout, store.Fingerprint(key)
				m.emitReq(r, Event{Kind: EventExpiredToken, Session: store.Fingerprint(key), Reason: EndTimeout})
			default:
				s.ended, s.endedFP = endReasonOf(why), store.Fingerprint(key)
				m.emitReq(r, Event{Kind: EventDeadToken, Session: store.Fingerprint(key), Reason: s.ended})
			}
		default:
			return nil, storeError("load", err)
		}
	}
	if bad > 0 {
		s.notices |= NoticeUnknownCookie
		if m.guard != nil {
			if guessKey == "" {
				guessKey = m.cfg.Guessing.Key(r)
			}
			if m.guard.miss(guessKey, bad, s.loaded) {
				m.emitReq(r, Event{Kind: EventTokenGuessing, Count: m.cfg.Guessing.Limit})
			}
		}
	}
	if nlive != 1 {
		// Two live sessions in one request: one of them was planted. Which
		// one is the user's cannot be told, so neither is honoured.
		//
		// With none live, the browser holds a cookie that will never work
		// again; the response expires it, unless a token was renewed: then
		// another request just gave the browser its new cookie, which must
		// not be raced away, and a write must not create a session either.
		s.stale = nlive == 0 && !renewed
		s.renewedAway = nlive == 0 && renewed
		return s, nil
	}
	s.ended = EndNone
	live, err := m.resolveRotated(s, live)
	if err != nil || live == nil {
		return s, err
	}
	if m.cfg.ClientBinding != BindNone && live.UserAgent != "" && live.UserAgent != truncate(r.UserAgent(), maxUserAgent) {
		m.emitReq(r, Event{Kind: EventClientChanged, Session: store.Fingerprint(live.Key), UserID: live.UserID})
		if m.cfg.ClientBinding == BindUserAgentStrict {
			if err := m.destroy(r.Context(), live, EndSignedOut); err != nil {
				return nil, storeError("unbind", err)
			}
			return s, nil
		}
	}
	vals, err := decodeValues(live.Data)
	if err != nil {
		return nil, storeError("decode", err)
	}
	for _, e := range vals {
		if e.val.err != nil {
			m.emitReq(r, Event{Kind: EventBadValue, Session: store.Fingerprint(live.Key), UserID: live.UserID,
				Detail: "value " + e.key + " no longer decodes", Err: e.val.err})
		}
	}
	s.rec, s.token, s.vals = live, liveToken, vals
	s.touch = s.loaded.Sub(live.LastSeen) >= m.cfg.TouchInterval
	s.rotateDue = s.reissue || m.rotationDue(s, live)
	return s, nil
}

var errMalformed = errors.New("malformed session cookie")

// expired reports whether rec is past a deadline at now. The limits are
// the record's, or the configured ones for its kind of session where those
// are shorter: lowering a timeout applies to sessions created before.
func (m *Manager) expired(rec *store.Record, now time.Time) bool {
	idle, abs := m.cfg.IdleTimeout, m.cfg.AbsoluteTimeout
	if rec.Persistent {
		idle, abs = m.cfg.RememberIdleTimeout, m.cfg.RememberAbsoluteTimeout
	}
	idle = min(idle, rec.IdleTimeout)
	start := rec.AuthTime
	if start.IsZero() {
		start = rec.Created
	}
	deadline := rec.Deadline
	if d := start.Add(abs); d.Before(deadline) {
		deadline = d
	}
	return !now.Before(rec.Expires) || !now.Before(deadline) || !now.Before(rec.LastSeen.Add(idle))
}
