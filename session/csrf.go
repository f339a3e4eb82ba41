package session

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
)

// csrfKey holds the session's CSRF secret.
const csrfKey = reservedPrefix + "csrf"

const csrfSize = 32

// The places [CSRFProtection] reads a token from.
const (
	// CSRFField is the form field that carries the token in a form post:
	//	<input type="hidden" name="csrf_token" value="{{.CSRFToken}}">
	CSRFField = "csrf_token"
	// CSRFHeader is the request header that carries the token in a script's
	// request.
	CSRFHeader = "X-CSRF-Token"
)

// ErrCSRF is wrapped by every error [CSRFProtection.Check] returns.
var ErrCSRF = errors.New("session: missing or invalid CSRF token")

// CSRFToken returns a token for the session's forms, for the hidden field
// [CSRFField] or the header [CSRFHeader], and creates the session's CSRF
// secret on first use (and with it the session, when the request had none).
// The secret is kept in the session, on the server; each call returns a
// different spelling of it (masked with fresh random bytes), so that a
// page compressed over TLS does not reveal it byte by byte (BREACH).
//
// The secret is renewed at [Session.Login] and [Session.Logout], never
// carried across them even when named with [Carry]: a token an anonymous
// visitor saw, or an attacker planted, is worth nothing in the signed-in
// session. [Session.Clear] keeps it. It returns "" when the secret cannot
// be created (a nil session, or a new one after the header was written).
func (s *Session) CSRFToken() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	secret, ok := s.csrfSecret()
	if !ok {
		secret = make([]byte, csrfSize)
		if _, err := rand.Read(secret); err != nil {
			return ""
		}
		if s.change(op{key: csrfKey, val: value{k: kBytes, x: secret}}) != nil {
			return ""
		}
	}
	return maskCSRF(secret)
}

// CSRFToken returns the CSRF token of r's session: From(r).CSRFToken().
func CSRFToken(r *http.Request) string { return From(r).CSRFToken() }

// csrfSecret returns the stored secret; s.mu is held.
func (s *Session) csrfSecret() ([]byte, bool) {
	v, ok := s.vals.get(csrfKey)
	if !ok || v.k != kBytes {
		return nil, false
	}
	b := v.x.([]byte)
	return b, len(b) == csrfSize
}

// renewCSRF forgets the CSRF secret at a sign-in, so that the next
// CSRFToken makes a new one; s.mu is held.
func (s *Session) renewCSRF() {
	s.vals.del(csrfKey)
	s.ops = slices.DeleteFunc(s.ops, func(o op) bool { return o.key == csrfKey })
	s.carry = slices.DeleteFunc(s.carry, func(k string) bool { return k == csrfKey })
}

func maskCSRF(secret []byte) string {
	b := make([]byte, 2*csrfSize)
	pad := b[:csrfSize]
	if _, err := rand.Read(pad); err != nil {
		return ""
	}
	subtle.XORBytes(b[csrfSize:], pad, secret)
	return base64.RawURLEncoding.EncodeToString(b)
}

// unmaskCSRF returns the secret a token spells, or nil.
func unmaskCSRF(token string) []byte {
	if base64.RawURLEncoding.DecodedLen(len(token)) != 2*csrfSize {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != 2*csrfSize {
		return nil
	}
	subtle.XORBytes(b[csrfSize:], b[:csrfSize], b[csrfSize:])
	return b[csrfSize:]
}

// CSRFProtection refuses state-changing requests that do not carry the
// session's CSRF token ([Session.CSRFToken]), in a form field named
// [CSRFField] or a header named [CSRFHeader]. GET, HEAD and OPTIONS
// requests pass: they must not change state. The token is read from the
// request body, never from the URL, where it would leak through logs and
// Referer headers.
//
// Prefer [http.CrossOriginProtection], which needs no token and no
// template change; see the package documentation's CSRF section for when
// a token is still needed. The two can be stacked.
//
// Its handlers must run inside [Manager.Handler], which gives them the
// session. The zero value is ready to use; it is safe for concurrent use,
// SetDenyHandler included.
type CSRFProtection struct {
	deny atomic.Pointer[http.Handler]
}

// NewCSRFProtection returns a CSRFProtection with the default deny handler.
func NewCSRFProtection() *CSRFProtection { return &CSRFProtection{} }

// SetDenyHandler sets the handler that answers refused requests. By default
// (and when h is nil) they get 403 Forbidden.
func (c *CSRFProtection) SetDenyHandler(h http.Handler) {
	if h == nil {
		c.deny.Store(nil)
		return
	}
	c.deny.Store(&h)
}

// Check returns nil when r may proceed: its method is safe, or it carries
// its session's CSRF token. Otherwise the error wraps [ErrCSRF] and says
// what was wrong; it never holds a token. Check parses a form body when
// the header is absent (see [http.Request.ParseForm]); the tokens are
// compared in constant time. A refusal of a request that has a session is
// reported to Config.OnEvent as [EventCSRFRejected], with the error.
func (c *CSRFProtection) Check(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	s := From(r)
	if s == nil {
		return fmt.Errorf("%w: %w", ErrCSRF, ErrNoSession)
	}
	err := s.checkCSRF(r)
	if err != nil {
		s.m.emitReq(r, Event{Kind: EventCSRFRejected, Session: s.Fingerprint(), UserID: s.UserID(), Err: err})
	}
	return err
}

func (s *Session) checkCSRF(r *http.Request) error {
	s.mu.Lock()
	secret, ok := s.csrfSecret()
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: the session has no CSRF token (no form was rendered for it, or it was renewed by a sign-in or sign-out)", ErrCSRF)
	}
	token := r.Header.Get(CSRFHeader)
	if token == "" {
		token = r.PostFormValue(CSRFField)
	}
	if token == "" {
		return fmt.Errorf("%w: the request carries no token", ErrCSRF)
	}
	got := unmaskCSRF(token)
	if got == nil || subtle.ConstantTimeCompare(got, secret) != 1 {
		return fmt.Errorf("%w: the token does not match the session's", ErrCSRF)
	}
	return nil
}

// Handler returns a handler that calls h for the requests [Check] lets
// through and the deny handler for the others.
//
// [Check]: CSRFProtection.Check
func (c *CSRFProtection) Handler(h http.Handler) http.Handler {
	if h == nil {
		panic("session: CSRFProtection.Handler called with a nil handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := c.Check(r); err != nil {
			if d := c.deny.Load(); d != nil {
				(*d).ServeHTTP(w, r)
				return
			}
			http.Error(w, "Forbidden: missing or invalid CSRF token", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}
