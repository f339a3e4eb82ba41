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
// concurrent renewal, rotation or sign-in in progress can escape
// (invariant I11): once it returns, none of them can be used. reason is
// what [Session.Ended] later tells a request bearing one of their cookies:
// [EndCredentialsChanged] after a password reset, [EndAllSessionsEnded]
// when an administrator locks the account. It returns how many records it
// ended.
func (m *Manager) RevokeAll(ctx context.Context, userID string, reason EndReason) (int, error) {
	return m.revokeExcept(ctx, userID, "", reason)
}

func (m *Manager) revokeExcept(ctx context.Context, userID, keepLineage string, reason EndReason) (int, error) {
	if userID == "" {
		return 0, ErrEmptyUser
	}
	n, err := m.store.RevokeUser(ctx, userID, keepLineage, reason.storeReason())
	if err != nil {
		return n, storeError("revoke", err)
	}
	if n > 0 {
		m.emit(Event{Kind: EventRevoked, UserID: userID, Count: n, Reason: reason})
	}
	return n, nil
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
// operation that no concurrent renewal, rotation or sign-in in progress
// can escape (invariant I11), and renews this one (a fresh token when the
// response is committed), so that a copy of the current cookie taken
// earlier is dead too. reason is what [Session.Ended] later tells the
// other sessions' requests, typically [EndCredentialsChanged] or
// [EndSignedOutElsewhere]. It returns how many records it ended.
func (s *Session) RevokeOthers(ctx context.Context, reason EndReason) (int, error) {
	if s == nil {
		return 0, ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.action == actLogin {
		// The sign-in of this request starts a new session, made after this
		// revocation: every earlier session of the user ends.
		return s.m.revokeExcept(ctx, s.newUser, "", reason)
	}
	if s.rec == nil || s.rec.UserID == "" || s.action == actLogout {
		return 0, ErrEmptyUser
	}
	if err := s.lifecycle(actRenew); err != nil {
		return 0, err
	}
	return s.m.revokeExcept(ctx, s.rec.UserID, s.rec.LineageKey(), reason)
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

// overLimit reports whether a sign-in after which the store counted at
// most count sessions of the user (-1: it could not tell) may have taken
// the user over Config.MaxSessionsPerUser, so that enforceLimit must list
// them. A store that is a store.UserCounter answers with the sign-in's own
// write; then a user within the bound costs no listing.
func (m *Manager) overLimit(count int) bool {
	limit := m.cfg.MaxSessionsPerUser
	return limit >= 0 && (count < 0 || count > limit)
}

// enforceLimit ends the least recently used sessions of rec's user beyond
// Config.MaxSessionsPerUser, after the sign-in that made rec. Sessions are
// counted by lineage: a rotated-away forwarder is part of its session.
// Sign-ins running at the same time each count before the others' records
// exist, so together they may exceed the bound by their number, briefly.
func (m *Manager) enforceLimit(ctx context.Context, rec *store.Record) error {
	limit := m.cfg.MaxSessionsPerUser
	if limit < 0 {
		return nil
	}
	recs, err := m.liveRecords(ctx, rec.UserID)
	if err != nil {
		return err
	}
	lastSeen := make(map[string]time.Time, len(recs))
	for _, r := range recs {
		if l := r.LineageKey(); r.LastSeen.After(lastSeen[l]) {
			lastSeen[l] = r.LastSeen
		}
	}
	if len(lastSeen) <= limit {
		return nil
	}
	type lineage struct {
		key  string
		seen time.Time
	}
	order := make([]lineage, 0, len(lastSeen))
	for k, t := range lastSeen {
		if k != rec.LineageKey() {
			order = append(order, lineage{k, t})
		}
	}
	slices.SortFunc(order, func(a, b lineage) int { return a.seen.Compare(b.seen) })
	for _, l := range order[:len(lastSeen)-limit] {
		n, err := m.store.RevokeLineage(ctx, rec.UserID, l.key, EndLimit.storeReason())
		if err != nil {
			return storeError("limit", err)
		}
		m.emit(Event{Kind: EventLimit, Session: store.Fingerprint(l.key), UserID: rec.UserID, Count: n, Reason: EndLimit})
	}
	return nil
}
