package session

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// EndedNoteTTL is how long the reason a session ended stays readable with
// [Session.Ended] after the request that presented the dead cookie.
const EndedNoteTTL = 5 * time.Minute

// endNotePurpose derives the keys that sign end-of-session notes.
const endNotePurpose = "sessionguard/end-reason/v1"

// endNoteSuffix makes the note cookie's name from the session cookie's, so
// that it has the same prefix (__Host-) and attributes.
const endNoteSuffix = "-ended"

// endNoteKeys returns the keys that sign end-of-session notes: derived from
// Config.Keys, so that every instance reads the others' notes, or else a
// random key of this Manager alone.
func endNoteKeys(k *Keys) (*Keys, error) {
	if k.Len() > 0 {
		return k.Derive(endNotePurpose), nil
	}
	secret := make([]byte, KeySize)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("session: making the end-of-session note key: %w", err)
	}
	k, err := NewKeys(secret)
	if err != nil {
		return nil, err
	}
	return k.Derive(endNotePurpose), nil
}

func (m *Manager) endNoteName() string { return m.cfg.Cookie.Name + endNoteSuffix }

// An end note is the cookie that carries why a session ended to the pages
// after the one that found it dead: "E1", the reason, the expiry (Unix
// seconds, big-endian), the ended session's fingerprint, then the
// signature of all that.
const endNoteVersion = "E1"

func (m *Manager) encodeEndNote(r EndReason, fingerprint string, expires time.Time) string {
	b := make([]byte, 0, 3+8+len(fingerprint)+32)
	b = append(b, endNoteVersion...)
	b = append(b, byte(r))
	b = binary.BigEndian.AppendUint64(b, uint64(expires.Unix()))
	b = append(b, fingerprint...)
	b = append(b, m.endKeys.Sign(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeEndNote returns the reason a note carries, or EndNone when it is
// malformed, forged, signed by another instance's key, or expired.
func (m *Manager) decodeEndNote(v string, now time.Time) EndReason {
	if len(v) > 200 {
		return EndNone
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil || len(b) < 3+8+32 {
		return EndNone
	}
	data, sig := b[:len(b)-32], b[len(b)-32:]
	if string(data[:2]) != endNoteVersion || !m.endKeys.Verify(data, sig) {
		return EndNone
	}
	r := EndReason(data[2])
	expires := time.Unix(int64(binary.BigEndian.Uint64(data[3:11])), 0)
	if r == EndNone || r >= endReasons || r == 1 || !now.Before(expires) {
		return EndNone
	}
	return r
}

// cookieValue returns the value of the first cookie named name in h.
func cookieValue(h http.Header, name string) (string, bool) {
	for _, line := range h["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(strings.TrimLeft(part, " \t"), "=")
			if ok && strings.TrimRight(k, " \t") == name {
				return strings.TrimSpace(v), true
			}
		}
	}
	return "", false
}

// setEndNote sets (or, with a zero r, deletes) the note cookie.
func (m *Manager) setEndNote(h http.Header, r EndReason, fingerprint string, now time.Time) {
	c := http.Cookie{
		Name:     m.endNoteName(),
		Path:     m.cfg.Cookie.Path,
		Domain:   m.cfg.Cookie.Domain,
		Secure:   !m.cfg.Cookie.InsecureWithoutSecure,
		HttpOnly: true,
		SameSite: m.cfg.Cookie.SameSite,
		MaxAge:   -1,
	}
	if r != EndNone {
		expires := now.Add(EndedNoteTTL)
		c.Value = m.encodeEndNote(r, fingerprint, expires)
		c.MaxAge = int(EndedNoteTTL / time.Second)
	}
	h.Add("Set-Cookie", c.String())
	h.Set("Cache-Control", "no-store")
}

// commitEndNote runs at the end of a commit; s.mu is held. A request that
// found its session ended, and did not read why, hands the reason on to
// the next pages in a signed note; a sign-in, or a read, removes the note.
func (s *Session) commitEndNote(h http.Header, now time.Time) {
	if s.ended == EndNone && !s.noteRead && s.action != actLogin {
		return // the common case: nothing to hand on, nothing read
	}
	if s.action != actLogin && s.ended != EndNone && !s.noteRead {
		s.m.setEndNote(h, s.ended, s.endedFP, now)
		return
	}
	if _, ok := cookieValue(s.req.Header, s.m.endNoteName()); ok {
		s.m.setEndNote(h, EndNone, "", now)
	}
}

// endedNote returns the reason the request's note carries; s.mu is held.
func (s *Session) endedNote() EndReason {
	if s.req == nil || s.action == actLogin || (s.action != actLogout && s.rec != nil && s.rec.UserID != "") {
		return EndNone // signed in since: the note is stale
	}
	v, ok := cookieValue(s.req.Header, s.m.endNoteName())
	if !ok {
		return EndNone
	}
	s.noteRead = true // read or refused, the note goes
	return s.m.decodeEndNote(v, s.loaded)
}
