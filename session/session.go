package session

import (
	"net/http"
	"sync"
	"time"
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
	loaded time.Time // when the request loaded the session
	token  string    // token of the live session, "" if none
	rec    *Record   // the live record, nil if none
	vals   values
	ops    []op
	touch  bool // the idle deadline is due for a refresh

	rotateDue bool // the token is older than Config.RotateEvery
	forwarded bool // the cookie's token was rotated; rec is its successor

	action   action
	newUser  string
	remember bool

	committed bool // the header is written: no more changes
	presented bool // the request carried a session cookie
	stale     bool // it carried only cookies that will never work again
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
}

func (o op) apply(vals *values) {
	switch {
	case o.clear:
		*vals = (*vals)[:0]
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

// Get returns the value stored under key, or nil. The value has the type it
// was stored with.
func (s *Session) Get(key string) any {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.vals.get(key); ok {
		return v.any()
	}
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

// Keys returns the keys of the stored values in sorted order.
func (s *Session) Keys() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.vals))
	for _, e := range s.vals {
		keys = append(keys, e.key)
	}
	return keys
}

// Value returns the value stored under key if it has type T.
func Value[T any](s *Session, key string) (T, bool) {
	v, ok := s.Get(key).(T)
	return v, ok
}

// GetString returns the string stored under key, or "".
func (s *Session) GetString(key string) string {
	if v, ok := s.lookup(key); ok && v.k == kString {
		return v.s
	}
	return ""
}

// GetBool returns the bool stored under key, or false.
func (s *Session) GetBool(key string) bool {
	v, ok := s.lookup(key)
	return ok && v.k == kBool && v.n != 0
}

// GetInt returns the int stored under key, or 0.
func (s *Session) GetInt(key string) int {
	if v, ok := s.lookup(key); ok && v.k == kInt {
		return int(v.n)
	}
	return 0
}

// GetInt64 returns the int64 stored under key, or 0.
func (s *Session) GetInt64(key string) int64 {
	if v, ok := s.lookup(key); ok && v.k == kInt64 {
		return int64(v.n)
	}
	return 0
}

// GetFloat64 returns the float64 stored under key, or 0.
func (s *Session) GetFloat64(key string) float64 { v, _ := Value[float64](s, key); return v }

// GetTime returns the time.Time stored under key, or the zero time.
func (s *Session) GetTime(key string) time.Time { v, _ := Value[time.Time](s, key); return v }

// GetBytes returns a copy of the []byte stored under key, or nil.
func (s *Session) GetBytes(key string) []byte {
	v, _ := Value[[]byte](s, key)
	return v
}

// Put stores v under key. v must be one of the built-in types (see
// [RegisterJSON]) or a registered one; otherwise Put returns an error
// wrapping [ErrUnsupportedType]. Slices are copied. Put on a request with no
// session creates one when the response is committed.
func (s *Session) Put(key string, v any) error {
	if s == nil {
		return ErrNoSession
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

// Pop removes the value under key and returns it, or nil. It suits
// one-time messages ("flash" messages).
func (s *Session) Pop(key string) any {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vals.get(key)
	if !ok || s.change(op{key: key, del: true}) != nil {
		return nil
	}
	return v.any()
}

// PopString is Pop for a string value; it returns "" if the value is absent
// or not a string (and then removes nothing).
func (s *Session) PopString(key string) string {
	if _, ok := Value[string](s, key); !ok {
		return ""
	}
	v, _ := s.Pop(key).(string)
	return v
}

// Clear removes every value. The session itself, and the signed-in user,
// stay; use [Session.Logout] to sign out.
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
	case s.action == actLogin:
		return s.loaded
	case s.action == actLogout, s.rec == nil:
		return time.Time{}
	}
	return s.rec.AuthTime
}

// Fingerprint returns the short, non-secret name of the current session for
// logs (see [Fingerprint]), or "" when there is none yet.
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
	return Fingerprint(s.rec.Key)
}

// abandon marks s as finished without committing, after a handler panic.
func (s *Session) abandon() {
	s.mu.Lock()
	s.committed = true
	s.mu.Unlock()
}
