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
)

// Info describes one of a user's sessions, for a "where you are signed in"
// page. It holds no token and no store key: ID names the session for
// [Manager.Revoke] and nothing else.
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
			ID: infoID(rec.Key), Created: rec.Created, LastSeen: rec.LastSeen, AuthTime: rec.AuthTime,
			Expires: rec.Expires, Deadline: rec.Deadline, IP: rec.IP, UserAgent: rec.UserAgent,
			Persistent: rec.Persistent,
		})
	}
	slices.SortFunc(infos, func(a, b Info) int { return b.LastSeen.Compare(a.LastSeen) })
	return infos, nil
}

func (m *Manager) liveRecords(ctx context.Context, userID string) ([]*Record, error) {
	if userID == "" {
		return nil, ErrEmptyUser
	}
	recs, err := m.store.ListUser(ctx, userID)
	if err != nil {
		return nil, storeError("list", err)
	}
	now := m.cfg.Now()
	return slices.DeleteFunc(recs, func(r *Record) bool { return r.UserID != userID || r.expired(now) }), nil
}

// ErrUnknownSession is returned by [Manager.Revoke] when the user has no
// live session with that ID.
var ErrUnknownSession = errors.New("session: no such session for this user")

// Revoke ends the session of userID whose [Info.ID] is id. It only finds the
// sessions of userID, so an ID from one user cannot end another's session.
func (m *Manager) Revoke(ctx context.Context, userID, id string) error {
	recs, err := m.liveRecords(ctx, userID)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if infoID(rec.Key) == id {
			if err := m.destroy(ctx, rec); err != nil {
				return storeError("revoke", err)
			}
			m.emit(Event{Kind: EventRevoked, Session: Fingerprint(rec.Key), UserID: userID, Count: 1})
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrUnknownSession, id)
}

// RevokeAll ends every session of userID, for instance when an account is
// locked. It returns how many it ended.
func (m *Manager) RevokeAll(ctx context.Context, userID string) (int, error) {
	return m.revokeExcept(ctx, userID, "")
}

func (m *Manager) revokeExcept(ctx context.Context, userID, keep string) (int, error) {
	recs, err := m.liveRecords(ctx, userID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, rec := range recs {
		if rec.Key == keep {
			continue
		}
		if err := m.store.Delete(ctx, rec.Key); err != nil {
			return n, storeError("revoke", err)
		}
		n++
		m.emit(Event{Kind: EventRevoked, Session: Fingerprint(rec.Key), UserID: userID, Count: 1})
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
		user, cur = s.rec.UserID, infoID(s.rec.Key)
	}
	s.mu.Unlock()
	infos, err := s.m.UserSessions(ctx, user)
	for i := range infos {
		infos[i].Current = infos[i].ID == cur
	}
	return infos, err
}

// RevokeOthers signs the user out everywhere but here, as after a password
// change: it ends every other session of the user now, and renews this one
// (a fresh token when the response is committed), so that a copy of the
// current cookie taken earlier is dead too. It returns how many sessions it
// ended.
func (s *Session) RevokeOthers(ctx context.Context) (int, error) {
	if s == nil {
		return 0, ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec == nil || s.rec.UserID == "" || s.action == actLogout {
		return 0, ErrEmptyUser
	}
	if s.action != actLogin {
		if err := s.lifecycle(actRenew); err != nil {
			return 0, err
		}
	}
	return s.m.revokeExcept(ctx, s.rec.UserID, s.rec.Key)
}

// destroy deletes rec and, when periodic rotation is on, every record of its
// lineage: a rotation that completed just before the delete left a
// successor, which must die with it. The delete comes first, so a rotation
// that has not completed yet fails on the tombstone and removes its own new
// record; one that has, created that record before the listing below.
func (m *Manager) destroy(ctx context.Context, rec *Record) error {
	if err := m.store.Delete(ctx, rec.Key); err != nil {
		return err
	}
	if m.cfg.RotateEvery <= 0 || rec.UserID == "" {
		return nil
	}
	recs, err := m.store.ListUser(ctx, rec.UserID)
	if err != nil {
		return err
	}
	line := rec.lineage()
	for _, r := range recs {
		if r.Key != rec.Key && (r.lineage() == line || r.Key == line) {
			if err := m.store.Delete(ctx, r.Key); err != nil {
				return err
			}
		}
	}
	return nil
}
