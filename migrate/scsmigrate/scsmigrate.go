// Package scsmigrate moves the users of github.com/alexedwards/scs/v2 to
// sessionguard without signing them out: it is a migrate.Source over an
// scs.Store (any of scs's stores; a scs.CtxStore is given the request's
// context).
//
//	migrator, err := scsmigrate.New(scsmigrate.Config{
//		Config: migrate.Config{
//			CookieName: "session", // scs's SessionManager.Cookie.Name
//			Cutoff:     time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC),
//		},
//		Store: legacy.Store, // the scs.SessionManager's Store (and its
//		// Codec and HashTokenInStore, if the application set them)
//		User: func(values map[string]any) (string, error) {
//			id, _ := values["authenticatedUserID"].(int)
//			if id == 0 {
//				return "", nil
//			}
//			return strconv.Itoa(id), nil
//		},
//	})
//	...
//	app := sessions.Handler(migrator.Handler(mux))
//
// A legacy session the scs store still holds, and whose deadline has not
// passed, is honoured once: its user is signed in with a fresh sessionguard
// token (never the scs token), the scs session is deleted from its store,
// and the scs cookie is expired. See package migrate for the rules and
// docs/migrating-from-scs.md for the API mapping.
package scsmigrate

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/sessionguard/sessionguard/migrate"
)

// DefaultCookieName is scs's default session cookie name.
const DefaultCookieName = "session"

// Config configures a migration from scs.
type Config struct {
	// Config is the migration's: Cutoff is required; CookieName defaults to
	// DefaultCookieName; Source is set by New.
	migrate.Config
	// Store is the scs store the legacy sessions live in. Required.
	Store scs.Store
	// Codec decodes the store's records. Default scs.GobCodec{}, scs's own
	// default.
	Codec scs.Codec
	// HashTokenInStore must match the scs SessionManager's field of that
	// name: whether the store is keyed by a hash of the token. Default
	// false, as in scs.
	HashTokenInStore bool
	// User returns the user signed in on a legacy session, given its
	// values, or "" when nobody is. Required. An error fails the migration
	// of that session (it is not signed in). Return "" too for a user who
	// must not be signed in any more (deleted, disabled, or whose password
	// changed since the switch): sessionguard's revocations do not reach
	// the legacy store.
	User func(values map[string]any) (string, error)
}

// New returns a Migrator for cfg.
func New(cfg Config) (*migrate.Migrator, error) {
	if cfg.Store == nil || cfg.User == nil {
		return nil, fmt.Errorf("%w: scsmigrate: Store and User are required", migrate.ErrConfig)
	}
	if cfg.CookieName == "" {
		cfg.CookieName = DefaultCookieName
	}
	cfg.Source = NewSource(cfg)
	return migrate.New(cfg.Config)
}

// NewSource returns the migrate.Source New uses, made of cfg's Store,
// Codec, HashTokenInStore and User; the rest of cfg is not used.
func NewSource(cfg Config) migrate.Source {
	if cfg.Codec == nil {
		cfg.Codec = scs.GobCodec{}
	}
	return source{st: cfg.Store, codec: cfg.Codec, user: cfg.User, hashed: cfg.HashTokenInStore}
}

type source struct {
	st     scs.Store
	codec  scs.Codec
	user   func(map[string]any) (string, error)
	hashed bool
}

// key returns the store key of the token, as scs computes it.
func (s source) key(token string) string {
	if !s.hashed {
		return token
	}
	h := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// Find reads the scs session whose token is the cookie's value.
func (s source) Find(r *http.Request, c *http.Cookie) (migrate.Legacy, bool, error) {
	var (
		b     []byte
		found bool
		err   error
	)
	if cs, ok := s.st.(scs.CtxStore); ok {
		b, found, err = cs.FindCtx(r.Context(), s.key(c.Value))
	} else {
		b, found, err = s.st.Find(s.key(c.Value))
	}
	if err != nil || !found {
		return migrate.Legacy{}, false, err
	}
	deadline, values, err := s.codec.Decode(b)
	if err != nil {
		return migrate.Legacy{}, false, fmt.Errorf("scsmigrate: decoding the session: %w", err)
	}
	if !time.Now().Before(deadline) {
		return migrate.Legacy{}, false, nil
	}
	user, err := s.user(values)
	if err != nil {
		return migrate.Legacy{}, false, errors.Join(errors.New("scsmigrate: reading the user"), err)
	}
	return migrate.Legacy{UserID: user, Expires: deadline}, true, nil
}

// Destroy deletes the scs session from its store.
func (s source) Destroy(r *http.Request, c *http.Cookie) error {
	if cs, ok := s.st.(scs.CtxStore); ok {
		return cs.DeleteCtx(r.Context(), s.key(c.Value))
	}
	return s.st.Delete(s.key(c.Value))
}
