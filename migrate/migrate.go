package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sessionguard/sessionguard/session"
)

// Legacy is what a [Source] found for a legacy cookie.
type Legacy struct {
	// UserID is the user signed in on the legacy session, or "" if none.
	UserID string
	// Expires is when the legacy library would stop honouring the cookie at
	// the latest. The claim in the Ledger is kept until then.
	Expires time.Time
}

// A Source reads and ends the sessions of a legacy library.
type Source interface {
	// Find returns the legacy session the cookie names. ok is false when
	// the legacy store does not hold it: unknown, expired, destroyed, or a
	// cookie that does not verify. err is for failures (the store cannot be
	// reached), never for a session that is simply not there.
	Find(r *http.Request, c *http.Cookie) (l Legacy, ok bool, err error)
	// Destroy ends the session the cookie names in the legacy store.
	Destroy(r *http.Request, c *http.Cookie) error
}

// Config configures a [Migrator].
type Config struct {
	// Source reads the legacy sessions. Required.
	Source Source
	// CookieName names the legacy session cookie. Required; it must differ
	// from sessionguard's cookie name.
	CookieName string
	// CookiePath and CookieDomain are the legacy cookie's Path and Domain,
	// so that the response can expire it. Defaults "/" and none.
	CookiePath   string
	CookieDomain string
	// Cutoff ends the migration: from this instant on, legacy cookies are
	// expired and nothing else. Required.
	Cutoff time.Time
	// Ledger remembers the migrated legacy sessions. Default
	// NewMemoryLedger(0), which one process alone sees.
	Ledger Ledger
	// OnEvent receives an [Event] for every request that carried a legacy
	// cookie. It is called on the request path, possibly concurrently.
	// Default: log to slog.Default(), at Warn for Replayed and Failed, Info
	// otherwise.
	OnEvent func(Event)
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// An Outcome says what happened to a legacy cookie.
type Outcome uint8

const (
	// Migrated: the user was signed in with a fresh sessionguard session.
	Migrated Outcome = iota + 1
	// Anonymous: the legacy session had no user; it was destroyed.
	Anonymous
	// NotFound: the legacy store does not hold the session (expired,
	// destroyed, forged); nobody was signed in.
	NotFound
	// Replayed: the legacy session was migrated before (or is being, by a
	// concurrent request); nobody was signed in. Two clients holding one
	// legacy cookie look like this.
	Replayed
	// SignedIn: the request was already signed in with sessionguard; the
	// legacy session was destroyed.
	SignedIn
	// AfterCutoff: the migration is over; the cookie was only expired.
	AfterCutoff
	// Failed: the legacy store, the Ledger or the sign-in failed (see
	// Event.Err); nobody was signed in, and the legacy cookie is left in
	// place for a later request.
	Failed
)

var outcomeNames = [...]string{Migrated: "migrated", Anonymous: "anonymous", NotFound: "not-found",
	Replayed: "replayed", SignedIn: "signed-in", AfterCutoff: "after-cutoff", Failed: "failed"}

// String returns the outcome's stable name, such as "migrated".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && outcomeNames[o] != "" {
		return outcomeNames[o]
	}
	return "unknown"
}

// An Event reports what a [Migrator] did with one legacy cookie. It never
// holds the cookie's value.
type Event struct {
	Outcome Outcome
	Time    time.Time
	// Legacy is a short, non-secret name of the legacy cookie: the first
	// 16 hex digits of its Ledger key.
	Legacy string
	// UserID is the legacy session's user, when it was read.
	UserID string
	// Err is the failure, for Failed.
	Err error
}

// A Migrator signs in the users of legacy sessions. Make one with [New];
// it is safe for concurrent use.
type Migrator struct {
	cfg Config
}

// ErrConfig is wrapped by the errors [New] returns.
var ErrConfig = errors.New("migrate: invalid configuration")

// New returns a Migrator, or an error wrapping ErrConfig naming the field
// that is missing.
func New(cfg Config) (*Migrator, error) {
	switch {
	case cfg.Source == nil:
		return nil, fmt.Errorf("%w: Config.Source is required", ErrConfig)
	case cfg.CookieName == "":
		return nil, fmt.Errorf("%w: Config.CookieName is required", ErrConfig)
	case cfg.Cutoff.IsZero():
		return nil, fmt.Errorf("%w: Config.Cutoff is required: a migration must end", ErrConfig)
	}
	if cfg.CookiePath == "" {
		cfg.CookiePath = "/"
	}
	if cfg.Ledger == nil {
		cfg.Ledger = NewMemoryLedger(0)
	}
	if cfg.OnEvent == nil {
		cfg.OnEvent = logEvent
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Migrator{cfg: cfg}, nil
}

func logEvent(e Event) {
	level := slog.LevelInfo
	if e.Outcome == Replayed || e.Outcome == Failed {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{slog.String("outcome", e.Outcome.String()), slog.String("legacy", e.Legacy)}
	if e.UserID != "" {
		attrs = append(attrs, slog.String("user", e.UserID))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	slog.Default().LogAttrs(context.Background(), level, "session migration", attrs...)
}

// Handler returns middleware that migrates the legacy session of a request
// before next runs. It must sit inside session.Manager.Handler:
//
//	app := sessions.Handler(migrator.Handler(mux))
//
// A request without the legacy cookie goes straight to next.
func (m *Migrator) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(m.cfg.CookieName); err == nil {
			m.migrate(w, r, c)
		}
		next.ServeHTTP(w, r)
	})
}

// migrate deals with the legacy cookie c of r. The response expires the
// cookie, unless the migration failed: a legacy store that is down for a
// moment must not cost the user a session a later request could migrate.
func (m *Migrator) migrate(w http.ResponseWriter, r *http.Request, c *http.Cookie) {
	key := ledgerKey(m.cfg.CookieName, c.Value)
	e := Event{Time: m.cfg.Now(), Legacy: key[:16]}
	e.Outcome, e.UserID, e.Err = m.outcome(r, c, key, e.Time)
	if e.Outcome != Failed {
		// Browsers refuse a prefixed cookie without Secure, even to delete it.
		prefixed := hasPrefixFold(m.cfg.CookieName, "__Secure-") || hasPrefixFold(m.cfg.CookieName, "__Host-")
		expired := &http.Cookie{Name: m.cfg.CookieName, Path: m.cfg.CookiePath, Domain: m.cfg.CookieDomain,
			MaxAge: -1, Secure: r.TLS != nil || prefixed, HttpOnly: true}
		w.Header().Add("Set-Cookie", expired.String())
	}
	m.cfg.OnEvent(e)
}

func (m *Migrator) outcome(r *http.Request, c *http.Cookie, key string, now time.Time) (Outcome, string, error) {
	s := session.From(r)
	switch {
	case s == nil:
		return Failed, "", errors.New("migrate: Migrator.Handler outside session.Manager.Handler")
	case !now.Before(m.cfg.Cutoff):
		return AfterCutoff, "", nil
	}
	l, ok, err := m.cfg.Source.Find(r, c)
	switch {
	case err != nil:
		return Failed, "", fmt.Errorf("migrate: reading the legacy session: %w", err)
	case !ok || !now.Before(l.Expires):
		return NotFound, "", nil
	}
	first, err := m.cfg.Ledger.Claim(r.Context(), key, l.Expires)
	switch {
	case err != nil:
		return Failed, l.UserID, fmt.Errorf("migrate: ledger: %w", err)
	case !first:
		return Replayed, l.UserID, nil
	}
	if err := m.cfg.Source.Destroy(r, c); err != nil {
		// Fail closed: a legacy session that could not be ended is not
		// carried over.
		return Failed, l.UserID, fmt.Errorf("migrate: destroying the legacy session: %w", err)
	}
	switch {
	case s.Authenticated():
		return SignedIn, l.UserID, nil
	case l.UserID == "":
		return Anonymous, "", nil
	}
	if err := s.Login(l.UserID, session.NotRecent()); err != nil {
		return Failed, l.UserID, fmt.Errorf("migrate: signing in: %w", err)
	}
	return Migrated, l.UserID, nil
}

// ledgerKey names a legacy cookie in the Ledger: the hex SHA-256 of its
// name and value. sessionguard's tokens are base64url and hold no NUL, so
// no token hashes to it.
func ledgerKey(name, value string) string {
	h := sha256.Sum256([]byte(name + "\x00" + value))
	return hex.EncodeToString(h[:])
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
