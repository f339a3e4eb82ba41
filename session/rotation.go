package session

import (
	"context"
	"errors"
	"fmt"
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
// cookie keep working, however many rotations old their token is
// (invariant I11). A chain of forwarders ends at the session's newest
// record, or at a tombstone: a sign-in, renewal, logout or revocation
// kills the records it replaces, so forwarding never crosses one (I3).
//
// After the grace window the old token is evidence that someone else holds
// the session, but only if a client presented a later token of its chain
// (invariant I12). Records made by a rotation carry metaUnseen until a
// request presents their token; a record made by a reissue carries
// metaReissued. A token T of the chain after the one presented was itself
// presented when T is not marked unseen, or when a request carrying T
// rotated it (its successor is not a reissue). With such proof the whole
// session ends; without it the holder of the old token gets a fresh
// successor (a reissue), as a successor lost on its way (a hijacked
// connection, a dropped response, a store that failed after writing) is
// no sign of theft.

// maxForwardHops bounds how many forwarders a request follows one store
// read at a time before it reads the rest of the chain from the user's
// index in one go.
const maxForwardHops = 4

// rotationDue reports whether the request's session should be rotated at
// commit.
func (m *Manager) rotationDue(s *Session, live *store.Record) bool {
	return m.cfg.Rotation.Every > 0 && !s.forwarded && live.UserID != "" &&
		s.loaded.Sub(live.Created) >= m.cfg.Rotation.Every
}

// A chain is what a request finds by following a rotated-away record's
// successors.
type chain struct {
	head *store.Record // the newest record; nil when the session ended
	why  store.Reason  // why it ended, when head is nil
	// proof: a token after the presented one reached a client.
	proof bool
	// stolen: the presented token, which no request had presented before,
	// was reissued to the holder of an older one: two holders.
	stolen bool
	// reissued is when the newest reissue in the chain was made, if any.
	reissued time.Time
}

// resolveRotated returns the record the request is served: live itself,
// or, when live was rotated away, its newest successor. It returns nil
// when the session has ended, or when live comes back after its grace
// window while a later token of its chain was presented: then the whole
// session is ended as reused.
func (m *Manager) resolveRotated(s *Session, live *store.Record) (*store.Record, error) {
	if live.Successor == "" {
		s.markSeen = metaOf(live.Data).unseen()
		return live, nil
	}
	c, err := m.follow(s, live)
	if err != nil {
		return nil, err
	}
	// A reissue hands the holder of an old token a successor: requests it
	// sent before that reply arrived get a grace window of their own.
	inGrace := s.loaded.Before(live.GraceUntil) || s.loaded.Before(c.reissued.Add(m.cfg.Rotation.Grace))
	switch {
	case c.head == nil && (inGrace || c.why != store.ReasonRenewed):
		// The successor was signed out, revoked or expired, or renewed
		// inside the grace window: so is this.
		s.ended = endReasonOf(c.why)
		m.emitReq(s.req, Event{Kind: EventDeadToken, Session: store.Fingerprint(live.Key), UserID: live.UserID, Reason: s.ended})
		return nil, nil
	case c.stolen, !inGrace && (c.proof || c.head == nil):
		// After the grace window, a chain cut by a renewal counts as
		// presented: the request that renewed it held the session, and the
		// record that could tell more is gone.
		return nil, m.reused(s.req.Context(), s, live)
	case !inGrace:
		s.reissue = true
	}
	s.forwarded = true
	return c.head, nil
}

// follow walks the successors of live, a rotated-away record, to the head
// of its chain, gathering the proof that a later token was presented. The
// first hops are store reads; a longer chain is read from the user's index
// in one request, with a store read for any record the index did not show.
func (m *Manager) follow(s *Session, live *store.Record) (chain, error) {
	var c chain
	var index map[string]*store.Record
	cur, md := live, metaOf(live.Data)
	limit := maxForwardHops
	for hops := 0; cur.Successor != ""; hops++ {
		if hops == maxForwardHops {
			var err error
			if index, err = m.lineageIndex(s.req.Context(), live); err != nil {
				return c, err
			}
			// Every record of the chain is in the index, but for those
			// rotations made since it was read: a chain longer than that
			// loops (a store that lost its integrity), and fails closed.
			limit += len(index) + maxForwardHops
		}
		if hops > limit {
			return c, storeError("load", fmt.Errorf("%w: rotation chain of %s does not end", store.ErrCorrupt, store.Fingerprint(live.Key)))
		}
		next, why, err := m.successor(s, index, cur.Successor)
		if err != nil || next == nil {
			c.why = why
			return c, err
		}
		nmd := metaOf(next.Data)
		if nmd.reissued() && next.Created.After(c.reissued) {
			c.reissued = next.Created
		}
		if cur == live {
			c.stolen = md.unseen() && !md.reissued() && nmd.reissued()
		} else if !md.unseen() || !nmd.reissued() {
			c.proof = true
		}
		cur, md = next, nmd
	}
	c.proof = c.proof || !md.unseen()
	c.head = cur
	return c, nil
}

// successor returns the live record key, from index when it holds it, or
// nil and why the record ended.
func (m *Manager) successor(s *Session, index map[string]*store.Record, key string) (*store.Record, store.Reason, error) {
	if rec, ok := index[key]; ok && !m.expired(rec, s.loaded) {
		return rec, 0, nil
	}
	rec, err := m.store.Get(s.req.Context(), key)
	switch {
	case err == nil && !m.expired(rec, s.loaded):
		return rec, 0, nil
	case err == nil:
		return nil, store.ReasonExpired, nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
		why, _ := store.ReasonOf(err)
		return nil, why, nil
	}
	return nil, 0, storeError("load", err)
}

// lineageIndex returns the live records of live's session by key, from the
// user's index.
func (m *Manager) lineageIndex(ctx context.Context, live *store.Record) (map[string]*store.Record, error) {
	recs, err := m.store.ListUser(ctx, live.UserID)
	if err != nil {
		return nil, storeError("load", err)
	}
	line := live.LineageKey()
	index := make(map[string]*store.Record, len(recs))
	for _, rec := range recs {
		if rec.LineageKey() == line {
			index[rec.Key] = rec
		}
	}
	return index, nil
}

// reused ends the whole session of rec: two parties hold it (invariant
// I12, RFC 9700 §4.14.2). The request goes on without a session.
func (m *Manager) reused(ctx context.Context, s *Session, rec *store.Record) error {
	n, err := m.store.RevokeLineage(ctx, rec.UserID, rec.LineageKey(), EndReuse.storeReason())
	if err != nil {
		return storeError("reuse", err)
	}
	s.ended = EndReuse
	m.emitReq(s.req, Event{Kind: EventTokenReuse, Session: store.Fingerprint(rec.Key), UserID: rec.UserID, Count: n, Reason: EndReuse})
	return nil
}

// canRotate reports whether a rotation may start on the request: its
// response must still be able to carry the new cookie. A hijacked
// connection writes its own response, and a request whose context is done
// (the client went away, http.TimeoutHandler answered already) has none
// that will reach the client. A rotation whose cookie is lost all the
// same (a response lost on the network) is repaired by a reissue.
func (s *Session) canRotate(cookie bool) bool {
	return cookie && s.req.Context().Err() == nil
}

// commitPeriodic gives a signed-in session a fresh token because its token
// reached Config.Rotation.Every, or because the request carries an old
// token whose successors no client presented (a reissue), in one store
// operation that also turns the old record into a forwarder. A logout,
// revocation or sign-in racing the rotation wins: the rotation then fails
// on the old record.
func (s *Session) commitPeriodic(ctx context.Context, h http.Header, now time.Time) error {
	base, vals := s.rec, s.vals
	md := recordMeta{flags: metaUnseen}
	kind := EventRotated
	if s.reissue {
		md.flags |= metaReissued
		kind = EventReissued
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		data, err := s.encodeMeta(md, vals)
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
			old := base.Key
			if s.reissue {
				old = storeKey(s.token) // the token whose holder gets next
			}
			s.rec, s.token, s.vals = &next, token, vals
			s.issueCookie(h, &next, token, now)
			s.m.emitReq(s.req, Event{Kind: kind, Session: store.Fingerprint(old), NewSession: store.Fingerprint(next.Key), UserID: next.UserID})
			return nil
		case errors.Is(err, store.ErrConflict) && merging(start, attempt):
			// Another request may have rotated it first: then this one's
			// changes go to that successor.
			fresh, fvals, done, err := s.afterConflict(ctx, h, base.Key, now)
			if done {
				return err
			}
			if s.reissue && !metaOf(fresh.Data).unseen() {
				// The head was presented while this request was reissuing it.
				return s.reusedAtCommit(ctx, fresh)
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

// forwardOrReuse sends this request's changes on to the successor of
// fresh, a record another request rotated after this one loaded it, unless
// that rotation proves two holders: this request presented fresh's token
// itself and the rotation was a reissue to the holder of an older token,
// or this request is a reissue and a request presenting fresh's token
// rotated it (invariant I12).
func (s *Session) forwardOrReuse(ctx context.Context, h http.Header, fresh *store.Record, now time.Time) error {
	if s.forwarded && !s.reissue || !s.forwarded && !metaOf(fresh.Data).unseen() {
		// Only a record no request had presented is reissued.
		return s.forwardUpdate(ctx, h, fresh.Successor, now)
	}
	reissue := s.reissue
	s.reissue = false // decided here, for this rotation only
	succ, err := s.m.store.Get(ctx, fresh.Successor)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
		s.dropped(fresh.Successor, err)
		return nil
	case err != nil:
		return storeError("reload", err)
	}
	if reissued := metaOf(succ.Data).reissued(); reissued != reissue {
		return s.reusedAtCommit(ctx, fresh)
	}
	return s.forwardUpdate(ctx, h, fresh.Successor, now)
}

// reusedAtCommit ends rec's session as reused, found out while this
// request committed; the request's changes are dropped.
func (s *Session) reusedAtCommit(ctx context.Context, rec *store.Record) error {
	if err := s.m.reused(ctx, s, rec); err != nil {
		return err
	}
	s.rec, s.token, s.vals = nil, "", nil
	return nil
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

// updateData returns the Data of an update of base: vals encoded when the
// request changed them, and base's metadata, with the unseen mark cleared
// when this request presents base's own token (seen). A request forwarded
// from an older token leaves the mark: it is no proof that the successor
// reached a client.
func (s *Session) updateData(base *store.Record, vals values) (data []byte, seen bool, err error) {
	md := metaOf(base.Data)
	seen = s.markSeen && !s.forwarded && md.unseen()
	if seen {
		md.flags &^= metaUnseen
	}
	switch {
	case len(s.ops) > 0:
		data, err = s.encodeMeta(md, vals)
	case seen:
		if data, err = withMeta(base.Data, md); err != nil {
			err = storeError("decode", err)
		}
	default:
		data = base.Data
	}
	return data, seen, err
}
