package session

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// A save that loses a race replays its operations on the fresher record
// and tries again. Each lost race means another request's save went
// through, so the contention drains; a request gives up only after
// mergeBudget of losing (then the error handler answers). Between attempts
// it waits a random, growing delay, so that many requests writing one
// session at once do not collide again in step.
const mergeBudget = 5 * time.Second

// merging reports whether a save that started at start and has lost
// attempt races may try again.
func merging(start time.Time, attempt int) bool {
	return attempt < 8 || time.Since(start) < mergeBudget
}

func backoff(attempt int) {
	limit := time.Duration(50<<min(attempt, 7)) * time.Microsecond // 100µs .. 6.4ms
	time.Sleep(rand.N(limit))
}

// commit saves the session and sets the response headers in h. It runs once,
// just before the response header is written (invariant I10); cookie says
// whether that response can still carry a cookie. Store writes
// use a context that outlives a client that hung up, so that a half-done
// sign-in is not abandoned between the store and the cookie.
func (s *Session) commit(h http.Header, cookie bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return nil
	}
	s.committed = true
	// A commit that writes nothing reuses the load time: reading the clock
	// is a measurable part of the read path.
	now := s.loaded
	var err error
	var ctx context.Context
	if s.action != actNone || len(s.ops) > 0 || s.touch || s.rotateDue || s.markSeen {
		ctx = context.WithoutCancel(s.req.Context())
		now = s.m.cfg.Now()
	}
	switch {
	case s.action == actLogout:
		err = s.commitLogout(ctx, h, now)
	case s.action == actLogin || (s.action == actRenew && s.rec != nil):
		err = s.commitRotate(ctx, h, now)
	case s.rec == nil:
		err = s.commitCreate(ctx, h, now)
	case s.rotateDue && s.canRotate(cookie):
		err = s.commitPeriodic(ctx, h, now)
	case len(s.ops) > 0 || s.touch || s.markSeen:
		err = s.commitUpdate(ctx, h, now)
	}
	if err != nil {
		return err
	}
	s.commitEndNote(h, now)
	if s.stale && s.rec == nil && s.action != actLogout {
		s.m.setCookie(h, "", now.Add(-time.Hour), now)
		h.Set("Cache-Control", "no-store")
	}
	if s.rec != nil {
		// A response built from a session must not be stored by a shared
		// cache (ASVS 8.2.1); a handler's explicit choice is kept unless the
		// response also sets the cookie (see setCookie).
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-store"}
		}
	}
	if s.presented || s.rec != nil {
		addVary(h, "Cookie")
	}
	return nil
}

func addVary(h http.Header, v string) {
	for _, x := range h["Vary"] {
		if x == v {
			return
		}
	}
	h["Vary"] = append(h["Vary"], v)
}

// issueCookie sends token; a Set-Cookie response is never cacheable.
func (s *Session) issueCookie(h http.Header, rec *store.Record, token string, now time.Time) {
	s.m.warnPlainHTTP(s.req)
	var expires time.Time
	if rec.Persistent {
		expires = rec.Deadline
	}
	s.m.setCookie(h, token, expires, now)
	h.Set("Cache-Control", "no-store")
}

// encode encodes vals and enforces MaxDataSize.
func (s *Session) encode(vals values) ([]byte, error) {
	data := encodeValues(vals)
	if len(data) > s.m.cfg.MaxDataSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), s.m.cfg.MaxDataSize)
	}
	return data, nil
}

// commitLogout destroys the session. What the request wrote after Logout
// (a "You have been signed out." flash) goes to a fresh anonymous session
// with a new token (invariant I15), whose cookie replaces the old one.
func (s *Session) commitLogout(ctx context.Context, h http.Header, now time.Time) error {
	if s.rec != nil {
		if err := s.m.destroy(ctx, s.rec, EndSignedOut); err != nil {
			return storeError("logout", err)
		}
		s.m.emitReq(s.req, Event{Kind: EventLogout, Session: store.Fingerprint(s.rec.Key), UserID: s.rec.UserID})
	}
	s.rec, s.token, s.vals = nil, "", s.replayOnEmpty()
	if err := s.commitCreate(ctx, h, now); err != nil {
		return err
	}
	if s.rec == nil {
		s.m.setCookie(h, "", now.Add(-time.Hour), now)
	}
	h.Set("Cache-Control", "no-store")
	if s.m.cfg.ClearSiteDataOnLogout {
		h.Set("Clear-Site-Data", clearSiteData(s.rec != nil))
	}
	return nil
}

// clearSiteData is the Clear-Site-Data value of a logout response. When the
// response also sets a new session's cookie, "cookies" is left out: a
// browser clears cookies when it receives the header, and the order with
// the response's own Set-Cookie is not specified; Chromium wipes them too
// (e2e TestI15_BrowserClearSiteData), so the new session would be lost.
func clearSiteData(newSession bool) string {
	if newSession {
		return `"cache", "storage"`
	}
	return `"cache", "cookies", "storage"`
}

// commitCreate stores a new anonymous session if the request put values in
// one. A request that stores nothing writes nothing: a flood of cookie-less
// requests does not grow the store.
func (s *Session) commitCreate(ctx context.Context, h http.Header, now time.Time) error {
	if len(s.vals) == 0 {
		return nil
	}
	if s.renewedAway {
		// The request came with a token that another request just renewed
		// (a sign-in, say): the browser holds the new cookie, or is about to.
		// A fresh anonymous cookie set here would overwrite it.
		s.m.emitReq(s.req, Event{Kind: EventWriteDropped, Err: store.ErrGone})
		s.vals = nil
		return nil
	}
	data, err := s.encode(s.vals)
	if err != nil {
		return err
	}
	token := s.m.newToken()
	rec := &store.Record{
		Key: storeKey(token), Created: now, LastSeen: now,
		IdleTimeout: s.m.cfg.IdleTimeout, Deadline: now.Add(s.m.cfg.AbsoluteTimeout),
		IP: s.m.cfg.ClientIP(s.req), UserAgent: truncate(s.req.UserAgent(), maxUserAgent),
		Data: data,
	}
	rec.Expires = expiresAt(rec)
	if err := s.m.store.Create(ctx, rec); err != nil && !s.landed(ctx, rec, err) {
		return storeError("create", err)
	}
	s.rec, s.token = rec, token
	s.issueCookie(h, rec, token, now)
	s.m.emitReq(s.req, Event{Kind: EventCreated, Session: store.Fingerprint(rec.Key)})
	return nil
}

func expiresAt(rec *store.Record) time.Time {
	idle := rec.LastSeen.Add(rec.IdleTimeout)
	if idle.Before(rec.Deadline) {
		return idle
	}
	return rec.Deadline
}

// reload fetches the latest version of base after a conflict and replays this
// request's operations on it (invariant I8). It returns nil, nil when the
// record died in the meantime.
func (s *Session) reload(ctx context.Context, key string, now time.Time) (*store.Record, values, error) {
	fresh, err := s.m.store.Get(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
		return nil, nil, nil
	case err != nil:
		return nil, nil, storeError("reload", err)
	case s.m.expired(fresh, now):
		return nil, nil, nil
	}
	vals, err := decodeValues(fresh.Data)
	if err != nil {
		return nil, nil, storeError("decode", err)
	}
	for _, o := range s.ops {
		o.apply(&vals)
	}
	s.m.emitReq(s.req, Event{Kind: EventMerged, Session: store.Fingerprint(key), UserID: fresh.UserID})
	return fresh, vals, nil
}

// afterConflict reloads key after a save lost a race to another request.
// It returns the fresh record and values, with this request's operations
// replayed, to try again with; or done, with what the commit returns, when
// the session died meanwhile (the changes are dropped) or a periodic
// rotation replaced it (the changes go to its successor, whose cookie the
// rotating request's response carries).
func (s *Session) afterConflict(ctx context.Context, h http.Header, key string, now time.Time) (fresh *store.Record, vals values, done bool, err error) {
	fresh, vals, err = s.reload(ctx, key, now)
	switch {
	case err != nil:
		return nil, nil, true, err
	case fresh == nil:
		s.dropped(key, store.ErrGone)
		return nil, nil, true, nil
	case fresh.Successor != "":
		return nil, nil, true, s.forwardOrReuse(ctx, h, fresh, now)
	}
	return fresh, vals, false, nil
}

// dropped records that this request's changes were not saved because the
// session died while it ran: a request still carrying an old token can
// neither write to nor revive a renewed or destroyed record (I3, I8).
func (s *Session) dropped(key string, cause error) {
	s.m.emitReq(s.req, Event{Kind: EventWriteDropped, Session: store.Fingerprint(key), Err: cause})
	s.rec, s.token, s.vals = nil, "", nil
}

func (s *Session) commitUpdate(ctx context.Context, h http.Header, now time.Time) error {
	base, vals := s.rec, s.vals
	start := time.Now()
	for attempt := 1; ; attempt++ {
		next := *base
		next.LastSeen = now
		next.Expires = expiresAt(&next)
		data, seen, err := s.updateData(base, vals)
		if err != nil {
			return err
		}
		if attempt > 1 && len(s.ops) == 0 && !seen {
			// Another request wrote the record, refreshing it, and the mark
			// this request was to make is there.
			return nil
		}
		next.Data = data
		err = s.m.store.Update(ctx, &next)
		switch {
		case err == nil:
			s.rec, s.vals = &next, vals
			return nil
		case errors.Is(err, store.ErrConflict) && len(s.ops) == 0 && !seen:
			// Only the idle refresh was due, and another request just wrote
			// the record, which refreshed it.
			return nil
		case errors.Is(err, store.ErrConflict) && merging(start, attempt):
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
			return storeError("update", err)
		}
	}
}

// commitRotate issues a fresh token for a sign-in or a renewal and kills the
// old one in the same store operation (invariant I3).
func (s *Session) commitRotate(ctx context.Context, h http.Header, now time.Time) error {
	base, vals := s.rec, s.vals
	if s.action == actLogin {
		vals = s.loginValues(base, vals)
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		data, err := s.encode(vals)
		if err != nil {
			return err
		}
		token := s.m.newToken()
		next := s.nextRecord(base, storeKey(token), data, now)
		if s.action == actLogin {
			err = s.signIn(ctx, base, next)
		} else {
			err = s.m.store.Rotate(ctx, base.Key, base.Version, next, time.Time{})
		}
		if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrRevokedSince) && s.landed(ctx, next, err) {
			err = nil
		}
		if err == nil {
			s.rotated(h, base, next, token, vals, now)
			return nil
		}
		if errors.Is(err, store.ErrRevokedSince) {
			return s.signInRefused(err)
		}
		if base == nil || !merging(start, attempt) {
			return storeError("rotate", err)
		}
		var fresh *store.Record
		switch {
		case errors.Is(err, store.ErrConflict):
			var rerr error
			fresh, vals, rerr = s.reload(ctx, base.Key, now)
			if rerr != nil {
				return rerr
			}
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
		default:
			return storeError("rotate", err)
		}
		if fresh != nil && fresh.Successor != "" {
			// A periodic rotation replaced it meanwhile: renew the successor.
			fresh, vals, err = s.reload(ctx, fresh.Successor, now)
			if err != nil {
				return err
			}
		}
		if fresh == nil {
			// The old session died while this request ran.
			if s.action == actRenew {
				// Renewing a dead session must not bring it back.
				s.dropped(base.Key, store.ErrGone)
				return nil
			}
			// The credentials were checked by this request, so the sign-in
			// goes on, in a session of its own; unless a revocation of the
			// user came after the request began, which the sign-in's write
			// refuses (invariant I11).
			base, vals = nil, s.replayOnEmpty()
			continue
		}
		if s.action == actLogin {
			vals = s.loginValues(fresh, vals)
		}
		// No back-off here: a sign-in or a renewal goes first, and the plain
		// updates it raced, which do back off, replay on its result or find
		// the old record dead.
		base = fresh
	}
}

// nextRecord is the record a sign-in or a renewal of base writes under
// key.
func (s *Session) nextRecord(base *store.Record, key string, data []byte, now time.Time) *store.Record {
	next := &store.Record{Key: key, Created: now, LastSeen: now, Data: data}
	if s.action == actLogin {
		next.UserID, next.AuthTime, next.Persistent = s.newUser, now, s.remember
		if s.notRecent {
			next.AuthTime = time.Time{} // NotRecent: a migrated session is no recent sign-in
		}
		next.IP, next.UserAgent = s.m.cfg.ClientIP(s.req), truncate(s.req.UserAgent(), maxUserAgent)
		next.IdleTimeout, next.Deadline = s.m.cfg.IdleTimeout, now.Add(s.m.cfg.AbsoluteTimeout)
		if s.remember {
			next.IdleTimeout, next.Deadline = s.m.cfg.RememberIdleTimeout, now.Add(s.m.cfg.RememberAbsoluteTimeout)
		}
	} else {
		// A renewal continues the same session: revoking it must also end
		// this record (invariant I11). It changes the token, not the
		// sign-in: the deadlines and the sign-in time stay.
		next.Lineage = base.LineageKey()
		next.UserID, next.AuthTime, next.Persistent = base.UserID, base.AuthTime, base.Persistent
		next.IP, next.UserAgent = base.IP, base.UserAgent
		next.IdleTimeout, next.Deadline = base.IdleTimeout, base.Deadline
	}
	next.Expires = expiresAt(next)
	return next
}

// rotated records the successful write of a sign-in or a renewal: the
// session is next, under token, and the response carries its cookie.
func (s *Session) rotated(h http.Header, base, next *store.Record, token string, vals values, now time.Time) {
	kind := EventLogin
	if s.action == actRenew {
		kind = EventRenewed
	}
	old := ""
	if base != nil {
		old = store.Fingerprint(base.Key)
	}
	s.rec, s.token, s.vals = next, token, vals
	s.issueCookie(h, next, token, now)
	s.m.emitReq(s.req, Event{Kind: kind, Session: old, NewSession: store.Fingerprint(next.Key), UserID: next.UserID})
}

// loginValues returns the values a sign-in on base starts with: those
// named by Carry, from a session of no other user, then what this request
// wrote (invariant I13). vals are base's values with this request's
// operations applied.
func (s *Session) loginValues(base *store.Record, vals values) values {
	var out values
	carrying := base != nil && (base.UserID == "" || base.UserID == s.newUser)
	if carrying {
		for _, k := range s.carry {
			if v, ok := vals.get(k); ok {
				out.set(k, v)
			}
		}
	}
	for _, o := range s.ops {
		if o.flash && carrying && slices.Contains(s.carry, o.key) {
			continue // vals already hold this request's flashes
		}
		o.apply(&out)
	}
	return out
}

func (s *Session) replayOnEmpty() values {
	var vals values
	for _, o := range s.ops {
		o.apply(&vals)
	}
	return vals
}

// maxUserAgent bounds the User-Agent kept in a record.
const maxUserAgent = 256

// landed reports whether a write of rec that returned an error took effect
// all the same: a client library that retries a write whose reply was lost
// gets store.ErrGone or store.ErrExists from its second attempt although the first one
// went through. rec's key comes from a fresh 256-bit token, so a live
// record under it can only be this request's. Without this, a retried
// sign-in would leave a second, orphaned session behind.
func (s *Session) landed(ctx context.Context, rec *store.Record, writeErr error) bool {
	if errors.Is(writeErr, store.ErrNotDurable) {
		// The write is on the store but may be lost in a failover: fail
		// closed rather than hand out a session that may not survive, or
		// leave an old token that may come back.
		return false
	}
	got, err := s.m.store.Get(ctx, rec.Key)
	if err != nil || got.UserID != rec.UserID || !got.Created.Equal(rec.Created) {
		return false
	}
	rec.Version = got.Version
	return true
}
