package session

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// Info describes one of a user's sessions, for a "where you are signed in"
// page. It holds no token and no store key: ID names the session for
// [Manager.Revoke] and nothing else. ID stays the same while the session
// is renewed or rotated, so that a page listing sessions can revoke one
// whose token changed since the page was drawn.
type Info struct {
	ID         string
	Created    time.Time // when this token was issued
	LastSeen   time.Time // last idle refresh (to within Config.TouchInterval)
	AuthTime   time.Time // when the user signed in
	Expires    time.Time // when it ends unless used again
	Deadline   time.Time // when it ends at the latest
	IP         string
	UserAgent  string
	Persistent bool
	Current    bool // the session of the request that asked
}

// infoID derives the public ID of a session from its store key: a hash of
// the key, so that neither the key nor the token can be recovered from it.
func infoID(key string) string {
	raw, err := hex.DecodeString(key)
	if err != nil {
		raw = []byte(key)
	}
	sum := sha256.Sum256(append([]byte("sessionguard info id\x00"), raw...))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// UserSessions lists the live sessions of userID, most recently used first.
// It uses the store's per-user index, never a scan.
func (m *Manager) UserSessions(ctx context.Context, userID string) ([]Info, error) {
	recs, err := m.liveRecords(ctx, userID)
	if err != nil {
		return nil, err
	}
	infos := make([]Info, 0, len(recs))
	for _, rec := range recs {
		if rec.Successor != "" {
			continue // replaced by a periodic rotation: its successor is listed
		}
		infos = append(infos, Info{
			ID: infoID(rec.LineageKey()), Created: rec.Created, LastSeen: rec.LastSeen, AuthTime: rec.AuthTime,
			Expires: rec.Expires, Deadline: rec.Deadline, IP: rec.IP, UserAgent: rec.UserAgent,
			Persistent: rec.Persistent,
		})
	}
	slices.SortFunc(infos, func(a, b Info) int { return b.LastSeen.Compare(a.LastSeen) })
	return infos, nil
}

func (m *Manager) liveRecords(ctx context.Context, userID string) ([]*store.Record, error) {
	if userID == "" {
		return nil, ErrEmptyUser
	}
	recs, err := m.store.ListUser(ctx, userID)
	if err != nil {
		return nil, storeError("list", err)
	}
	now := m.cfg.Now()
	return slices.DeleteFunc(recs, func(r *store.Record) bool { return r.UserID != userID || m.expired(r, now) }), nil
}

// ErrUnknownSession is returned by [Manager.Revoke] when the user has no
// live session with that ID.
var ErrUnknownSession = errors.New("session: no such session for this user")

// Revoke ends the session of userID whose [Info.ID] is id, with its every
// renewal and rotation: a request of that session renewing it at the same
// moment cannot keep it alive (invariant I11). It only finds the sessions
// of userID, so an ID from one user cannot end another's session. A
// request that later presents the session's cookie is told
// [EndSignedOutElsewhere] by [Session.Ended].
func (m *Manager) Revoke(ctx context.Context, userID, id string) error {
	recs, err := m.liveRecords(ctx, userID)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if infoID(rec.LineageKey()) == id {
			n, err := m.store.RevokeLineage(ctx, userID, rec.LineageKey(), EndSignedOutElsewhere.storeReason())
			if err != nil {
				return storeError("revoke", err)
			}
			m.emit(Event{Kind: EventRevoked, Session: store.Fingerprint(rec.Key), UserID: userID, Count: n, Reason: EndSignedOutElsewhere})
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrUnknownSession, id)
}

// RevokeAll ends every session of userID, in one store operation that no
// concurrent renewal or rotation can escape, and refuses every sign-in of
// the user whose request began before it returned, on any instance
// (invariant I11): once it returns, none of those sessions can be used,
// and such a sign-in fails with [ErrSignInRevoked]. A sign-in made by the
// same request after RevokeAll (ctx is the request's context, as with
// r.Context()) stands: a password reset may sign the user in again. reason
// is what [Session.Ended] later tells a request bearing one of their
// cookies, or a refused sign-in: [EndCredentialsChanged] after a password
// reset, [EndAllSessionsEnded] when an administrator locks the account.
// It returns how many records it ended.
//
// The refusal rests on a per-user mark the store keeps, on its own clock,
// for [store.MarkTTL] (an hour); a sign-in compares it with when its
// request began, measured on its own instance's clock as a duration, so
// that instances whose clocks disagree still agree on the order. On
// another instance, a sign-in whose request began less than
// [store.SignInMargin] (250 milliseconds) after the revocation is refused
// too (the user signs in again); on the instance that revoked, a sign-in
// whose request began after RevokeAll returned stands.
func (m *Manager) RevokeAll(ctx context.Context, userID string, reason EndReason) (int, error) {
	rev, err := m.revokeExcept(ctx, userID, "", reason)
	if s := FromContext(ctx); err == nil && s != nil && s.m == m {
		s.mu.Lock()
		s.noteRevocation(userID, rev)
		s.mu.Unlock()
	}
	return rev.Ended, err
}

func (m *Manager) revokeExcept(ctx context.Context, userID, keepLineage string, reason EndReason) (store.Revocation, error) {
	if userID == "" {
		return store.Revocation{}, ErrEmptyUser
	}
	rev, err := m.store.RevokeUser(ctx, userID, keepLineage, reason.storeReason())
	if err != nil {
		return rev, storeError("revoke", err)
	}
	m.recent.note(userID, rev, time.Now())
	if rev.Ended > 0 {
		m.emit(Event{Kind: EventRevoked, UserID: userID, Count: rev.Ended, Reason: reason})
	}
	return rev, nil
}

// Sessions lists the live sessions of the signed-in user, marking the
// current one. It returns [ErrEmptyUser] for an anonymous request.
func (s *Session) Sessions(ctx context.Context) ([]Info, error) {
	if s == nil {
		return nil, ErrNoSession
	}
	s.mu.Lock()
	user, cur := "", ""
	if s.rec != nil && s.action != actLogout {
		user, cur = s.rec.UserID, infoID(s.rec.LineageKey())
	}
	s.mu.Unlock()
	infos, err := s.m.UserSessions(ctx, user)
	for i := range infos {
		infos[i].Current = infos[i].ID == cur
	}
	return infos, err
}

// RevokeOthers signs the user out everywhere but here, as after a password
// change: it ends every other session of the user now, in one store
// operation that no concurrent renewal or rotation can escape, refuses
// every other sign-in of the user whose request began before it returned
// (invariant I11; see [Manager.RevokeAll]), and renews this one (a fresh
// token when the response is committed), so that a copy of the current
// cookie taken earlier is dead too. On a request that signs in
// ([Session.Login], before or after RevokeOthers), every earlier session
// of the user ends and the sign-in stands, unless someone else revoked the
// user's sessions after this request began. reason is what
// [Session.Ended] later tells the other sessions' requests, typically
// [EndCredentialsChanged] or [EndSignedOutElsewhere]. It returns how many
// records it ended.
func (s *Session) RevokeOthers(ctx context.Context, reason EndReason) (int, error) {
	if s == nil {
		return 0, ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	user, keep := s.newUser, ""
	if s.action != actLogin {
		if s.rec == nil || s.rec.UserID == "" || s.action == actLogout {
			return 0, ErrEmptyUser
		}
		if err := s.lifecycle(actRenew); err != nil {
			return 0, err
		}
		user, keep = s.rec.UserID, s.rec.LineageKey()
	}
	rev, err := s.m.revokeExcept(ctx, user, keep, reason)
	if err == nil {
		s.noteRevocation(user, rev)
	}
	return rev.Ended, err
}

// destroy ends rec for reason: with its whole lineage when it belongs to a
// user, in one store operation, so that a renewal or rotation racing the
// logout cannot leave a successor alive (invariant I11).
func (m *Manager) destroy(ctx context.Context, rec *store.Record, reason EndReason) error {
	if rec.UserID == "" {
		return m.store.Delete(ctx, rec.Key, reason.storeReason())
	}
	_, err := m.store.RevokeLineage(ctx, rec.UserID, rec.LineageKey(), reason.storeReason())
	return err
}
