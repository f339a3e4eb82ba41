package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// A Manager issues, loads and commits sessions for an HTTP application. Build
// one with [New] and wrap the handlers that use sessions with
// [Manager.Handler]. A Manager is safe for concurrent use; its zero value is
// not usable.
type Manager struct {
	store store.Store
	cfg   Config
	guard *guessGuard // nil when Guessing.Limit < 0

	endKeys *Keys // signs the notes that carry end reasons (Session.Ended)

	warnedMu sync.Mutex
	warned   map[string]struct{} // hosts warned about by warnPlainHTTP

	// ownClock is set when Config.Now was given: a request's start for
	// recent is then read from time.Now apart.
	ownClock bool
	recent   recentRevocations // this manager's latest revocations
}

// New returns a Manager that keeps sessions in st. It returns an error
// wrapping [ErrConfig] and naming the field when cfg is contradictory or
// unsafe (invariant I7): a __Host- cookie with a Domain, SameSite=None
// without Secure, an absolute timeout shorter than the idle one, and so on.
func New(st store.Store, cfg Config) (*Manager, error) {
	if st == nil {
		return nil, fmt.Errorf("%w: nil store", ErrConfig)
	}
	ownClock := cfg.Now != nil
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Manager{store: st, cfg: cfg, ownClock: ownClock}
	if m.endKeys, err = endNoteKeys(cfg.Keys); err != nil {
		return nil, err
	}
	if cfg.Cookie.InsecureWithoutSecure {
		m.emit(Event{Kind: EventInsecureCookie, Detail: "INSECURE: the session cookie " + cfg.Cookie.Name +
			" is sent without the Secure attribute; use this for plain-HTTP local development only"})
	}
	if g := cfg.Guessing; g.Limit > 0 {
		m.guard = newGuessGuard(g.Clients, g.Limit, g.Window, g.Cooldown)
	}
	return m, nil
}

type contextKey struct{}

// FromContext returns the session of the request whose context is ctx, or
// nil when the request did not pass through [Manager.Handler]. The methods
// of a nil *Session read nothing and refuse every change with
// [ErrNoSession].
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(contextKey{}).(*Session)
	return s
}

// From returns the session of r; it is FromContext(r.Context()).
func From(r *http.Request) *Session { return FromContext(r.Context()) }

// Errors returned by [Session] methods.
var (
	// ErrNoSession is returned when a Session method is called on a request
	// that did not pass through Manager.Handler.
	ErrNoSession = errors.New("session: no session middleware on this request")
	// ErrCommitted is returned for a change made after the response headers
	// were written: the session was already saved and its cookie sent, so the
	// change cannot be honoured (invariant I10).
	ErrCommitted = errors.New("session: change after the response headers were written")
)

// Errors given to [Config.ErrorHandler] (wrapped; test them with
// errors.Is) when the session layer cannot serve a request. The request's
// handler is not called, or its response not committed.
var (
	// ErrTooLarge: the session's encoded values exceed Config.MaxDataSize
	// (413 from DefaultErrorHandler).
	ErrTooLarge = errors.New("session: session data too large")
	// ErrStore: the store failed — unreachable, timed out — or a record
	// cannot be decoded (invariant I9; 503 from DefaultErrorHandler).
	ErrStore = errors.New("session: store failure")
	// ErrTooManyBadTokens: the client is in a guessing cool-down (see
	// Config.Guessing); the error is a *TooManyBadTokensError (429 with
	// Retry-After from DefaultErrorHandler).
	ErrTooManyBadTokens = errors.New("session: too many invalid session tokens from this client")
)

// TooManyBadTokensError refuses a request from a client in a guessing
// cool-down.
type TooManyBadTokensError struct {
	RetryAfter time.Duration
}

func (e *TooManyBadTokensError) Error() string {
	return fmt.Sprintf("%v; retry after %v", ErrTooManyBadTokens, e.RetryAfter.Round(time.Second))
}

func (e *TooManyBadTokensError) Unwrap() error { return ErrTooManyBadTokens }

// Handler is the session middleware. It reads the session cookie (and only
// the cookie, invariant I2), loads the record once before calling next, and
// commits the session just before the first byte of the response header:
// the store write, Set-Cookie, Cache-Control and Vary. It never buffers the
// body (I10). Flush, Hijack and [http.ResponseController] keep working.
//
// When the store cannot be read or the record decoded, next is not called
// and Config.ErrorHandler answers (I9). When the commit fails, the handler's
// response is replaced by Config.ErrorHandler's, as long as the header has
// not been sent. A handler that panics commits nothing.
func (m *Manager) Handler(next http.Handler) http.Handler {
	if next == nil {
		panic("session: Manager.Handler called with a nil handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var began time.Time
		if m.ownClock {
			began = time.Now()
		}
		s, err := m.load(r)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		s.began = began
		if !m.ownClock {
			s.began = s.loaded
		}
		r = r.WithContext(context.WithValue(r.Context(), contextKey{}, s))
		s.req = r
		s.rw = responseWriter{w: w, s: s}
		completed := false
		defer func() {
			if !completed {
				// The handler panicked (net/http recovers it); leave the
				// store as it was and refuse later changes.
				s.abandon()
			}
		}()
		next.ServeHTTP(&s.rw, r)
		completed = true
		s.rw.finish()
	})
}

// fail answers a request whose session could not be loaded or committed.
func (m *Manager) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrTooLarge):
		m.emitReq(r, Event{Kind: EventTooLarge, Err: err})
	case errors.Is(err, ErrTooManyBadTokens), errors.Is(err, ErrSignInRevoked):
		// Reported once, when the client crossed the threshold, or when
		// the sign-in was refused.
	default:
		m.emitReq(r, Event{Kind: EventStoreError, Err: err})
	}
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	h.Set("Cache-Control", "no-store")
	m.cfg.ErrorHandler(w, r, err)
}

func storeError(op string, err error) error {
	if errors.Is(err, ErrStore) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrStore, op, err)
}
