package session

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// A Session is the session of one request, obtained with [From] or
// [FromContext]. Its methods are safe for concurrent use by the goroutines
// serving that request. Changes are kept in memory and committed when the
// response header is written; after that they are refused with
// [ErrCommitted].
//
// Values written by a request are replayed on the latest record if another
// request saved the same session in the meantime, so concurrent changes to
// different keys all survive; for one key the last commit wins (invariant
// I8).
type Session struct {
	m   *Manager
	req *http.Request
	rw  responseWriter

	mu     sync.Mutex
	loaded time.Time     // when the request loaded the session
	began  time.Time     // the same on time.Now, for Manager.recent
	token  string        // token of the live session, "" if none
	rec    *store.Record // the live record, nil if none
	vals   values
	ops    []op
	touch  bool // the idle deadline is due for a refresh

	rotateDue bool // the token is older than Config.Rotation.Every
	forwarded bool // the cookie's token was rotated; rec is its successor
	reissue   bool // rotateDue hands the holder of an old token a successor (I12)
	markSeen  bool // the cookie's token, made by a rotation, is presented for the first time

	action   action
	newUser  string
	remember bool
	carry    []string // keys Login carries over (Carry)
	// revoked holds, per user, the revocation this request made itself
	// (RevokeOthers, or RevokeAll with the request's context), which its
	// own sign-in is not refused for; see ownRevocation.
	revoked map[string]*ownRevocation

	notRecent bool // Login with NotRecent: no sign-in time

	committed   bool      // the header is written: no more changes
	presented   bool      // the request carried a session cookie
	stale       bool      // it carried only cookies that will never work again
	renewedAway bool      // its only token was just renewed by another request
	ended       EndReason // why the session its cookie named has ended
	endedFP     string    // the fingerprint of that session

	noteRead   bool      // Ended was asked: the end note is not handed on
	noteParsed bool      // fromNote holds the request's end note
	fromNote   EndReason // the reason the request's end note carries
	notices    Notice    // what was ignored in the request
}

type action uint8

const (
	actNone action = iota
	actLogin
	actRenew
	actLogout
)

// op is one change to the values, kept so that it can be replayed on a
// fresher record after a conflict.
type op struct {
	key   string
	val   value
	del   bool
	clear bool
	flash bool // val holds flashes, appended to those under key (or, with del, removed)
}

func (o op) apply(vals *values) {
	switch {
	case o.clear:
		clearValues(vals)
	case o.flash && o.del:
		removeFlashes(vals, o.key, o.val)
	case o.flash:
		appendFlash(vals, o.key, o.val)
	case o.del:
		vals.del(o.key)
	default:
		vals.set(o.key, o.val)
	}
}

// change checks that s accepts a change and records it.
func (s *Session) change(o op) error {
	if s == nil {
		return ErrNoSession
	}
	if s.committed {
		s.m.emitReq(s.req, Event{Kind: EventWriteAfterCommit, Session: s.fingerprint(), Err: ErrCommitted})
		return ErrCommitted
	}
	o.apply(&s.vals)
	s.ops = append(s.ops, o)
	return nil
}

// lookup returns the raw value under key.
func (s *Session) lookup(key string) (value, bool) {
	if s == nil {
		return value{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vals.get(key)
}

// Has reports whether a value is stored under key.
func (s *Session) Has(key string) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.vals.find(key)
	return ok
}

// Keys returns the keys of the stored values in sorted order, without the
// session layer's own (flashes, the CSRF token).
func (s *Session) Keys() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.vals))
	for _, e := range s.vals {
		if !strings.HasPrefix(e.key, reservedPrefix) {
			keys = append(keys, e.key)
		}
	}
	return keys
}

// ErrNoValue is returned by [Value] when no value is stored under the key.
var ErrNoValue = errors.New("session: no value under this key")

// Value returns the value stored under key. The error is [ErrNoValue] when
// there is none, wraps [ErrUndecodable] when the stored value no longer
// decodes, and says so when the value has another type than T. It is the
// one accessor for every type; [Session.GetString] and [Session.PopString]
// are shorthands for the most common one.
func Value[T any](s *Session, key string) (T, error) {
	var zero T
	v, ok := s.lookup(key)
	if !ok {
		return zero, ErrNoValue
	}
	if v.err != nil {
		return zero, fmt.Errorf("session: value %q: %w", key, v.err)
	}
	t, ok := v.any().(T)
	if !ok {
		return zero, fmt.Errorf("session: value %q is a %T, not a %T", key, v.any(), zero)
	}
	return t, nil
}

// GetString returns the string stored under key, or "" when there is none
// or the value is not a string.
func (s *Session) GetString(key string) string {
	if v, ok := s.lookup(key); ok && v.k == kString {
		return v.s
	}
	return ""
}

// Put stores v under key. v must be one of the built-in types (see
// [RegisterJSON]) or a registered one; otherwise Put returns an error
// wrapping [ErrUnsupportedType]. Slices are copied. Put on a request with no
// session creates one when the response is committed. Keys beginning with
// "\x00sessionguard." are the session layer's own; Put refuses them.
func (s *Session) Put(key string, v any) error {
	if s == nil {
		return ErrNoSession
	}
	if strings.HasPrefix(key, reservedPrefix) {
		return errReservedKey
	}
	val, err := valueOf(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.change(op{key: key, val: val})
}

// Delete removes the value under key, if any.
func (s *Session) Delete(key string) error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.vals.find(key); !ok {
		return nil
	}
	return s.change(op{key: key, del: true})
}

// PopString removes the string stored under key and returns it: a one-time
// ("flash") message. It returns "" and removes nothing when there is no
// value or the value is not a string.
func (s *Session) PopString(key string) string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vals.get(key)
	if !ok || v.k != kString || s.change(op{key: key, del: true}) != nil {
		return ""
	}
	return v.s
}

// Clear removes every value, flashes included. The session itself, the
// signed-in user and the CSRF token ([Session.CSRFToken]) stay; use
// [Session.Logout] to sign out.
func (s *Session) Clear() error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.vals) == 0 {
		return nil
	}
	return s.change(op{clear: true})
}

// UserID returns the signed-in user, or "" for an anonymous request. After
// [Session.Login] it returns the new user; after [Session.Logout], "".
func (s *Session) UserID() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.action {
	case actLogin:
		return s.newUser
	case actLogout:
		return ""
	}
	if s.rec == nil {
		return ""
	}
	return s.rec.UserID
}

// Authenticated reports whether a user is signed in.
func (s *Session) Authenticated() bool { return s.UserID() != "" }

// AuthTime returns when the user signed in, or the zero time.
func (s *Session) AuthTime() time.Time {
	if s == nil {
		return time.Time{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.action == actLogin && s.notRecent:
		return time.Time{}
	case s.action == actLogin:
		return s.loaded
	case s.action == actLogout, s.rec == nil:
		return time.Time{}
	}
	return s.rec.AuthTime
}

// Fingerprint returns the short, non-secret name of the current session for
// logs (see [store.Fingerprint]), or "" when there is none yet.
func (s *Session) Fingerprint() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fingerprint()
}

func (s *Session) fingerprint() string {
	if s.rec == nil {
		return ""
	}
	return store.Fingerprint(s.rec.Key)
}

// abandon marks s as finished without committing, after a handler panic.
func (s *Session) abandon() {
	s.mu.Lock()
	s.committed = true
	s.mu.Unlock()
}
