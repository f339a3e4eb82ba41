// Package gorillamigrate moves the users of github.com/gorilla/sessions to
// sessionguard without signing them out: it is a migrate.Source over any
// sessions.Store (CookieStore, FilesystemStore, or a third-party store).
//
//	migrator, err := gorillamigrate.New(gorillamigrate.Config{
//		Config: migrate.Config{
//			CookieName: "app-session", // the name given to store.Get
//			Cutoff:     time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC),
//		},
//		Store: legacyStore, // the sessions.Store the application used
//		User: func(s *sessions.Session) (string, error) {
//			id, _ := s.Values["user"].(string)
//			return id, nil
//		},
//	})
//	...
//	app := manager.Handler(migrator.Handler(mux)) // manager is the *session.Manager
//
// A legacy session the store still accepts (the cookie verifies and, for a
// FilesystemStore, the file is there) is honoured once: its user is signed
// in with a fresh sessionguard token (never the gorilla cookie), the
// legacy session is deleted as gorilla deletes one (Options.MaxAge = -1
// and Save: a FilesystemStore removes the file), and the gorilla cookie is
// expired.
//
// A CookieStore keeps nothing on the server, so deleting a session there
// cannot stop a copy of its cookie: the migration's Ledger remembers every
// migrated cookie (by a hash) until its MaxAge has run out, and a copy
// used after the original is refused (migrate.Replayed). With several
// instances, share the Ledger (migrate.StoreLedger). See package migrate
// for the rules and docs/migrating-from-gorilla.md for the API mapping.
package gorillamigrate

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/sessionguard/sessionguard/migrate"
)

// DefaultMaxAge is how long a legacy cookie is assumed to stay valid when
// its session's Options.MaxAge is not positive: gorilla's default.
const DefaultMaxAge = 30 * 24 * time.Hour

// Config configures a migration from gorilla/sessions.
type Config struct {
	// Config is the migration's: CookieName (the session name the
	// application passed to Store.Get) and Cutoff are required. CookiePath
	// and CookieDomain default to the store's Options for a CookieStore or
	// FilesystemStore, "/" and none otherwise. Source is set by New.
	migrate.Config
	// Store is the gorilla store the legacy sessions live in. Required.
	Store sessions.Store
	// User returns the user signed in on a legacy session, or "" when
	// nobody is. Required. An error fails the migration of that session.
	// Return "" too for a user who must not be signed in any more
	// (deleted, disabled, or whose password changed since the switch):
	// sessionguard's revocations do not reach the legacy store.
	User func(*sessions.Session) (string, error)
}

// New returns a Migrator for cfg.
func New(cfg Config) (*migrate.Migrator, error) {
	if cfg.Store == nil || cfg.User == nil {
		return nil, fmt.Errorf("%w: gorillamigrate: Store and User are required", migrate.ErrConfig)
	}
	var opts *sessions.Options
	switch st := cfg.Store.(type) {
	case *sessions.CookieStore:
		opts = st.Options
	case *sessions.FilesystemStore:
		opts = st.Options
	}
	if opts != nil && cfg.CookiePath == "" && cfg.CookieDomain == "" {
		cfg.CookiePath, cfg.CookieDomain = opts.Path, opts.Domain
	}
	cfg.Source = NewSource(cfg.Store, cfg.CookieName, cfg.User)
	return migrate.New(cfg.Config)
}

// NewSource returns the migrate.Source New uses: it reads the sessions
// named name from st, and their user with user.
func NewSource(st sessions.Store, name string, user func(*sessions.Session) (string, error)) migrate.Source {
	return source{st: st, name: name, user: user}
}

type source struct {
	st   sessions.Store
	name string
	user func(*sessions.Session) (string, error)
}

// load returns the legacy session of r, or nil when the store does not
// hold it.
func (s source) load(r *http.Request) (*sessions.Session, error) {
	sess, err := s.st.New(r, s.name)
	var scErr securecookie.Error
	switch {
	case err == nil && sess != nil && !sess.IsNew:
		return sess, nil
	case err == nil, errors.As(err, &scErr) && scErr.IsDecode(), errors.Is(err, os.ErrNotExist):
		return nil, nil // no cookie, a cookie that does not verify, a session file that is gone
	}
	return nil, err
}

// Find reads the gorilla session of the request.
func (s source) Find(r *http.Request, _ *http.Cookie) (migrate.Legacy, bool, error) {
	sess, err := s.load(r)
	if err != nil || sess == nil {
		return migrate.Legacy{}, false, err
	}
	user, err := s.user(sess)
	if err != nil {
		return migrate.Legacy{}, false, errors.Join(errors.New("gorillamigrate: reading the user"), err)
	}
	maxAge := DefaultMaxAge
	if sess.Options != nil && sess.Options.MaxAge > 0 {
		maxAge = time.Duration(sess.Options.MaxAge) * time.Second
	}
	return migrate.Legacy{UserID: user, Expires: time.Now().Add(maxAge)}, true, nil
}

// Destroy deletes the gorilla session as gorilla does: MaxAge -1, then
// Save. The expiring cookie Save writes is dropped; the Migrator expires
// the cookie itself.
func (s source) Destroy(r *http.Request, _ *http.Cookie) error {
	sess, err := s.load(r)
	if err != nil || sess == nil {
		return err
	}
	sess.Options.MaxAge = -1
	return s.st.Save(r, headerSink{}, sess)
}

// headerSink is a ResponseWriter that keeps nothing.
type headerSink struct{}

func (headerSink) Header() http.Header         { return http.Header{} }
func (headerSink) Write(b []byte) (int, error) { return len(b), nil }
func (headerSink) WriteHeader(int)             {}
