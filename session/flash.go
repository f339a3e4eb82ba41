package session

import (
	"errors"
	"fmt"
	"slices"
)

// A FlashLevel says how a [Flash] should be shown.
type FlashLevel uint8

// The levels of a flash.
const (
	FlashInfo FlashLevel = iota + 1
	FlashSuccess
	FlashWarning
	FlashError
)

var flashLevelNames = [...]string{"", "info", "success", "warning", "error"}

// String returns the level's name ("info", "success", "warning", "error"),
// fit for a CSS class.
func (l FlashLevel) String() string {
	if l >= FlashInfo && int(l) < len(flashLevelNames) {
		return flashLevelNames[l]
	}
	return "unknown"
}

// A Flash is a one-time message for the user, shown on the next page the
// user sees and then forgotten: "Profile saved.", "You have been signed
// out."
type Flash struct {
	Level   FlashLevel
	Message string
}

// MaxFlashes bounds the flashes a session holds: a flash is meant to be
// shown on the next page, and a page that adds one on every request and
// never shows them must not fill the session.
const MaxFlashes = 32

// Errors returned by [Session.AddFlash].
var (
	// ErrFlashLevel: the level is none of FlashInfo, FlashSuccess,
	// FlashWarning and FlashError.
	ErrFlashLevel = errors.New("session: unknown flash level")
	// ErrTooManyFlashes: the session already holds MaxFlashes flashes
	// that no page has shown.
	ErrTooManyFlashes = errors.New("session: too many flashes not yet shown")
)

// flashKey holds the flashes, each a level byte then the message.
const flashKey = reservedPrefix + "flash"

// AddFlash adds a message for the next page that calls [Session.Flashes],
// usually the one a redirect leads to. On a request without a session it
// creates one when the response is committed.
//
// Flashes survive redirects, renewals and periodic rotations, and follow
// the user across sign-in and sign-out without reopening data fixation
// (invariant I13):
//
//   - A flash added by the request that calls [Session.Login] or
//     [Session.Logout], before or after the call, is kept: the application
//     wrote it.
//   - At Login, flashes the anonymous session held before the request are
//     dropped, since whoever prepared that session may have put them
//     there, unless the sign-in names [CarryFlashes].
//   - At Logout, the signed-out user's pending flashes are dropped with
//     the session; those added by the request go to a fresh anonymous
//     session (I15).
//
// Concurrent requests adding flashes to one session all keep theirs. It
// returns [ErrFlashLevel], [ErrTooManyFlashes] or, after the response
// header was written, [ErrCommitted].
func (s *Session) AddFlash(level FlashLevel, message string) error {
	if s == nil {
		return ErrNoSession
	}
	if level.String() == "unknown" {
		return fmt.Errorf("%w: %d", ErrFlashLevel, level)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.vals.get(flashKey); ok && v.k == kStrings && len(v.x.([]string)) >= MaxFlashes {
		return ErrTooManyFlashes
	}
	val := value{k: kStrings, x: []string{string(byte(level)) + message}}
	return s.change(op{key: flashKey, val: val, flash: true})
}

// AddInfo adds an informational flash; see [Session.AddFlash].
func (s *Session) AddInfo(message string) error { return s.AddFlash(FlashInfo, message) }

// AddSuccess adds a flash that reports success; see [Session.AddFlash].
func (s *Session) AddSuccess(message string) error { return s.AddFlash(FlashSuccess, message) }

// AddWarning adds a warning flash; see [Session.AddFlash].
func (s *Session) AddWarning(message string) error { return s.AddFlash(FlashWarning, message) }

// AddError adds a flash that reports a failure; see [Session.AddFlash].
func (s *Session) AddError(message string) error { return s.AddFlash(FlashError, message) }

// Flashes returns the session's flashes, oldest first, and removes them:
// each is shown once. It returns nil, and changes nothing, when there are
// none. Once the response header is written it still returns them, but
// can no longer remove them.
func (s *Session) Flashes() []Flash {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vals.get(flashKey)
	if !ok {
		return nil
	}
	if v.k != kStrings {
		_ = s.change(op{key: flashKey, del: true})
		return nil
	}
	var out []Flash
	read := v.x.([]string)
	for _, f := range read {
		if f != "" {
			out = append(out, Flash{Level: FlashLevel(f[0]), Message: f[1:]})
		}
	}
	// Only the flashes shown are removed: one another request adds
	// meanwhile stays for the next page. A refused removal (ErrCommitted)
	// is reported by its event; the flashes are still worth showing.
	_ = s.change(op{key: flashKey, val: value{k: kStrings, x: read}, del: true, flash: true})
	return out
}

// CarryFlashes keeps, at [Session.Login], the flashes the session held
// before the sign-in request. Name it only when no flash an anonymous
// visitor can cause to be added could mislead the signed-in user: by
// default they are dropped (invariant I13).
func CarryFlashes() LoginOption { return Carry(flashKey) }

// appendFlash appends the flashes of v to those under key.
func appendFlash(vals *values, key string, v value) {
	var list []string
	if old, ok := vals.get(key); ok && old.k == kStrings {
		list = old.x.([]string)
	}
	add := v.x.([]string)
	list = append(list[:len(list):len(list)], add...)
	if len(list) > MaxFlashes {
		// Replays of concurrent requests can pass the bound; the oldest go.
		list = list[len(list)-MaxFlashes:]
	}
	vals.set(key, value{k: kStrings, x: list})
}

// removeFlashes removes from the flashes under key one of each of those
// in v, the ones a request showed.
func removeFlashes(vals *values, key string, v value) {
	old, ok := vals.get(key)
	if !ok || old.k != kStrings {
		vals.del(key)
		return
	}
	list := slices.Clone(old.x.([]string))
	for _, f := range v.x.([]string) {
		if i := slices.Index(list, f); i >= 0 {
			list = slices.Delete(list, i, i+1)
		}
	}
	if len(list) == 0 {
		vals.del(key)
		return
	}
	vals.set(key, value{k: kStrings, x: list})
}

// clearValues removes every value but the CSRF token.
func clearValues(vals *values) {
	kept := (*vals)[:0]
	for _, e := range *vals {
		if e.key == csrfKey {
			kept = append(kept, e)
		}
	}
	*vals = kept
}

// keepOnLogout returns the operations of ops that survive a Logout in the
// same request: the flashes it added.
func keepOnLogout(ops []op) []op {
	var kept []op
	for _, o := range ops {
		if o.flash && !o.del {
			kept = append(kept, o)
		}
	}
	return kept
}
