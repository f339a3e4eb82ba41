package session

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// Periodic rotation (Config.Rotation) lives in this file: the load path
// calls resolveRotated and rotationDue, the commit path commitPeriodic.
//
// A rotation replaces the token of a signed-in session without changing
// anything else. The old record is not killed but turned, in the same
// store operation, into a forwarder to the new one (Record.Successor) until
// Record.GraceUntil: requests the browser sent before it received the new
// cookie keep working. After the grace window the old token is evidence
// that someone else holds the session (invariant I12).

// maxForwardHops bounds how many forwarders a request follows before it
// looks the session's newest record up in the user's index instead.
const maxForwardHops = 4

// rotationDue reports whether the request's session should be rotated at
// commit.
func (m *Manager) rotationDue(s *Session, live *store.Record) bool {
	return m.cfg.Rotation.Every > 0 && !s.forwarded && live.UserID != "" &&
		s.loaded.Sub(live.Created) >= m.cfg.Rotation.Every
}

// resolveRotated returns the record the request is served: live itself,
// or, when live was rotated away, its newest successor. It returns nil
// when the session has ended, or when live's grace window is over: then
// the whole session is ended as reused.
func (m *Manager) resolveRotated(s *Session, live *store.Record) (*store.Record, error) {
	if live.Successor == "" {
		return live, nil
	}
	r, ctx := s.req, s.req.Context()
	if !s.loaded.Before(live.GraceUntil) {
		return nil, m.reused(s, live)
	}
	s.forwarded = true
	cur := live
	for hops := 0; cur.Successor != ""; hops++ {
		if hops == maxForwardHops {
			return m.lineageHead(s, live)
		}
		next, err := m.store.Get(ctx, cur.Successor)
		switch {
		case err == nil && !m.expired(next, s.loaded):
			cur = next
		case err == nil, errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
			// The successor was signed out, revoked or renewed: so is this.
			why, _ := store.ReasonOf(err)
			s.ended = endReasonOf(why)
			m.emitReq(r, Event{Kind: EventDeadToken, Session: store.Fingerprint(live.Key), UserID: live.UserID, Reason: s.ended})
			return nil, nil
		default:
			return nil, storeError("load", err)
		}
	}
	return cur, nil
}

// lineageHead finds the newest record of live's session through the
// user's index, for a request whose token is many rotations old but still
// within its grace window.
func (m *Manager) lineageHead(s *Session, live *store.Record) (*store.Record, error) {
	recs, err := m.store.ListUser(s.req.Context(), live.UserID)
	if err != nil {
		return nil, storeError("load", err)
	}
	line := live.LineageKey()
	var head *store.Record
	for _, rec := range recs {
		if rec.LineageKey() == line && rec.Successor == "" && !m.expired(rec, s.loaded) &&
			(head == nil || rec.Created.After(head.Created)) {
			head = rec
		}
	}
	if head == nil {
		m.emitReq(s.req, Event{Kind: EventDeadToken, Session: store.Fingerprint(live.Key), UserID: live.UserID})
	}
	return head, nil
}

// reused ends the whole session of live, a token presented after its grace
// window: two parties hold it (invariant I12, RFC 9700 §4.14.2).
func (m *Manager) reused(s *Session, live *store.Record) error {
	n, err := m.store.RevokeLineage(s.req.Context(), live.UserID, live.LineageKey(), EndReuse.storeReason())
	if err != nil {
		return storeError("reuse", err)
	}
	s.ended = EndReuse
	m.emitReq(s.req, Event{Kind: EventTokenReuse, Session: store.Fingerprint(live.Key), UserID: live.UserID, Count: n, Reason: EndReuse})
	return nil
}

// commitPeriodic gives a signed-in session a fresh token because its token
// reached Config.Rotation.Every, in one store operation that also turns the
// old record into a forwarder. A logout, revocation or sign-in racing the
// rotation wins: the rotation then fails on the old record.
func (s *Session) commitPeriodic(ctx context.Context, h http.Header, now time.Time) error {
	base, vals := s.rec, s.vals
	start := time.Now()
	for attempt := 1; ; attempt++ {
		data, err := s.encode(vals)
		if err != nil {
			return err
		}
		token := s.m.newToken()
		next := *base
		next.Key, next.Version, next.Lineage = storeKey(token), 0, base.LineageKey()
		next.Successor, next.GraceUntil = "", time.Time{}
		next.Created, next.LastSeen, next.Data = now, now, data
		next.Expires = expiresAt(&next)
		err = s.m.store.Rotate(ctx, base.Key, base.Version, &next, now.Add(s.m.cfg.Rotation.Grace))
		if err != nil && s.landed(ctx, &next, err) {
			// A client library retried the rotation after losing its reply:
			// the first attempt went through, and the retry found the old
			// record already forwarding to next. next is this request's.
			err = nil
		}
		switch {
		case err == nil:
			s.rec, s.token, s.vals = &next, token, vals
			s.issueCookie(h, &next, token, now)
			s.m.emitReq(s.req, Event{Kind: EventRotated, Session: store.Fingerprint(base.Key), NewSession: store.Fingerprint(next.Key), UserID: next.UserID})
			return nil
		case errors.Is(err, store.ErrConflict) && merging(start, attempt):
			// Another request may have rotated it first: then this one's
			// changes go to that successor.
			fresh, fvals, done, err := s.afterConflict(ctx, h, base.Key, now)
			if done {
				return err
			}
			base, vals = fresh, fvals
			backoff(attempt)
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
			s.dropped(base.Key, err)
			return nil
		default:
			return storeError("rotate", err)
		}
	}
}

// forwardUpdate saves this request's changes to the record key, which took
// over from the record the request loaded.
func (s *Session) forwardUpdate(ctx context.Context, h http.Header, key string, now time.Time) error {
	if len(s.ops) == 0 {
		return nil
	}
	succ, vals, err := s.reload(ctx, key, now)
	if err != nil {
		return err
	}
	if succ == nil {
		s.dropped(key, store.ErrGone)
		return nil
	}
	s.rec, s.vals, s.forwarded = succ, vals, true
	return s.commitUpdate(ctx, h, now)
}
