package scsmigrate_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/boltstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/sessionguard/sessionguard/migrate"
	"github.com/sessionguard/sessionguard/migrate/scsmigrate"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/session/sessiontest"
	"go.etcd.io/bbolt"
)

// legacyApp is the application before the switch: scs with its default
// cookie, signing users in under "userID".
type legacyApp struct {
	sm      *scs.SessionManager
	handler http.Handler
}

func newLegacy(st scs.Store, hashed bool) *legacyApp {
	sm := scs.New()
	sm.Store, sm.HashTokenInStore = st, hashed
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		sm.Put(r.Context(), "userID", r.URL.Query().Get("user"))
	})
	mux.HandleFunc("/visit", func(w http.ResponseWriter, r *http.Request) { sm.Put(r.Context(), "cart", "1 book") })
	return &legacyApp{sm: sm, handler: sm.LoadAndSave(mux)}
}

// cookie returns the scs cookie of a request to path.
func (l *legacyApp) cookie(t *testing.T, path string) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	l.handler.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	for _, c := range w.Result().Cookies() {
		if c.Name == scsmigrate.DefaultCookieName {
			return c
		}
	}
	t.Fatalf("the scs application set no cookie: %v", w.Result().Header)
	return nil
}

// held reports whether scs still has the cookie's session (every session
// of these tests holds a value).
func (l *legacyApp) held(t *testing.T, c *http.Cookie) bool {
	t.Helper()
	ctx, err := l.sm.Load(context.Background(), c.Value)
	if err != nil {
		t.Fatal(err)
	}
	return len(l.sm.Keys(ctx)) > 0
}

type env struct {
	legacy   *legacyApp
	sessions *sessiontest.Manager
	events   *events
	app      http.Handler
}

type events struct {
	mu  sync.Mutex
	all []migrate.Event
}

func (e *events) add(ev migrate.Event) { e.mu.Lock(); e.all = append(e.all, ev); e.mu.Unlock() }

func (e *events) count(o migrate.Outcome) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if ev.Outcome == o {
			n++
		}
	}
	return n
}

// legacyStore is an scs store and whether the SessionManager hashed
// tokens in it.
type legacyStore struct {
	st     scs.Store
	hashed bool
}

func stores(t *testing.T) map[string]func() legacyStore {
	return map[string]func() legacyStore{
		"memstore": func() legacyStore {
			// No cleanup goroutine: scs's StopCleanup races with it.
			return legacyStore{memstore.NewWithCleanupInterval(0), false}
		},
		"memstore HashTokenInStore": func() legacyStore {
			return legacyStore{memstore.NewWithCleanupInterval(0), true}
		},
		"boltstore": func() legacyStore {
			db, err := bbolt.Open(filepath.Join(t.TempDir(), "scs.db"), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return legacyStore{boltstore.NewWithCleanupInterval(db, 0), false}
		},
	}
}

func newEnv(t *testing.T, ls legacyStore, cutoff time.Time) *env {
	e := &env{legacy: newLegacy(ls.st, ls.hashed), sessions: sessiontest.NewManager(session.Config{}), events: new(events)}
	t.Cleanup(e.sessions.Close)
	m, err := scsmigrate.New(scsmigrate.Config{
		Config:           migrate.Config{Cutoff: cutoff, OnEvent: e.events.add},
		Store:            ls.st,
		HashTokenInStore: ls.hashed,
		User: func(values map[string]any) (string, error) {
			id, _ := values["userID"].(string)
			return id, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		fmt.Fprintf(w, "user=%s recent=%v", s.UserID(), s.AuthenticatedWithin(time.Hour))
	})
	mux.HandleFunc("/sg-login", func(w http.ResponseWriter, r *http.Request) { _ = session.From(r).Login("bob") })
	e.app = e.sessions.Handler(m.Handler(mux))
	return e
}

func (e *env) do(cookies ...*http.Cookie) *http.Response {
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	e.app.ServeHTTP(w, r)
	return w.Result()
}

func bodyOf(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func cookieNamed(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestMigration(t *testing.T) {
	future := time.Now().Add(time.Hour)
	for storeName, newStore := range stores(t) {
		for _, tc := range []struct {
			name     string
			cutoff   time.Time
			legacy   func(t *testing.T, e *env) *http.Cookie
			sg       bool // also send a signed-in sessionguard cookie (bob)
			outcome  migrate.Outcome
			body     string
			destroys bool // the legacy store no longer holds the session
		}{
			{"signed-in legacy session", future, signedIn, false, migrate.Migrated, "user=alice recent=false", true},
			{"anonymous legacy session", future, func(t *testing.T, e *env) *http.Cookie { return e.legacy.cookie(t, "/visit") },
				false, migrate.Anonymous, "user= recent=false", true},
			{"unknown legacy token", future, func(*testing.T, *env) *http.Cookie {
				return &http.Cookie{Name: "session", Value: "invented-token"}
			}, false, migrate.NotFound, "user= recent=false", true},
			{"legacy session past its deadline", future, expiredLegacy, false, migrate.NotFound, "user= recent=false", false},
			{"after the cut-off", time.Now().Add(-time.Second), signedIn, false, migrate.AfterCutoff, "user= recent=false", false},
			{"already signed in with sessionguard", future, signedIn, true, migrate.SignedIn, "user=bob recent=true", true},
		} {
			t.Run(storeName+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t, newStore(), tc.cutoff)
				legacy := tc.legacy(t, e)
				cookies := []*http.Cookie{legacy}
				if tc.sg {
					cookies = append(cookies, e.sessions.Login("bob"))
				}
				res := e.do(cookies...)
				if got := bodyOf(t, res); got != tc.body {
					t.Fatalf("body %q, want %q", got, tc.body)
				}
				if got := e.events.count(tc.outcome); got != 1 || len(e.events.all) != 1 {
					t.Fatalf("events %v, want one %v", e.events.all, tc.outcome)
				}
				if c := cookieNamed(res, "session"); c == nil || c.MaxAge != -1 {
					t.Fatalf("legacy cookie not expired: %v", res.Header["Set-Cookie"])
				}
				if held := e.legacy.held(t, legacy); held == tc.destroys && legacy.Value != "invented-token" {
					t.Fatalf("legacy store holds the session: %v, want %v", held, !tc.destroys)
				}
			})
		}
	}
}

func signedIn(t *testing.T, e *env) *http.Cookie { return e.legacy.cookie(t, "/login?user=alice") }

// expiredLegacy stores a signed-in scs session whose deadline has passed,
// through the scs store's own Commit, as an scs version that checks only
// the store's expiry might have left it.
func expiredLegacy(t *testing.T, e *env) *http.Cookie {
	c := signedIn(t, e)
	b, err := scs.GobCodec{}.Encode(time.Now().Add(-time.Minute), map[string]any{"userID": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	key := c.Value
	if e.legacy.sm.HashTokenInStore {
		h := sha256.Sum256([]byte(key))
		key = base64.RawURLEncoding.EncodeToString(h[:])
	}
	if err := e.legacy.sm.Store.Commit(key, b, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestI3MigratedTokenIsFresh: the sessionguard session issued for a legacy
// session has a token of its own, works on later requests, the legacy
// cookie is worth nothing afterwards, and the sign-in is not recent.
func TestI3MigratedTokenIsFresh(t *testing.T) {
	for storeName, newStore := range stores(t) {
		t.Run(storeName, func(t *testing.T) {
			e := newEnv(t, newStore(), time.Now().Add(time.Hour))
			legacy := signedIn(t, e)
			res := e.do(legacy)
			sg := cookieNamed(res, e.sessions.CookieName())
			if sg == nil || sg.Value == legacy.Value || strings.Contains(sg.Value, legacy.Value) {
				t.Fatalf("sessionguard cookie %v reuses the legacy token", sg)
			}
			if got := bodyOf(t, e.do(sg)); got != "user=alice recent=false" {
				t.Fatalf("with the new cookie: %q", got)
			}
			if got := bodyOf(t, e.do(legacy)); got != "user= recent=false" {
				t.Fatalf("legacy cookie replayed: %q", got)
			}
			if n := e.sessions.Events.Count(session.EventLogin); n != 1 {
				t.Fatalf("%d sign-ins, want 1", n)
			}
		})
	}
}

// TestConcurrentUseMigratesOnce: parallel requests bearing one legacy
// cookie sign in at most one client.
func TestConcurrentUseMigratesOnce(t *testing.T) {
	for storeName, newStore := range stores(t) {
		t.Run(storeName, func(t *testing.T) {
			e := newEnv(t, newStore(), time.Now().Add(time.Hour))
			legacy := signedIn(t, e)
			const n = 16
			var wg sync.WaitGroup
			var mu sync.Mutex
			signedIn := 0
			start := make(chan struct{})
			for range n {
				wg.Go(func() {
					<-start
					res := e.do(legacy)
					if strings.HasPrefix(bodyOf(t, res), "user=alice") {
						mu.Lock()
						signedIn++
						mu.Unlock()
					}
				})
			}
			close(start)
			wg.Wait()
			if signedIn != 1 || e.events.count(migrate.Migrated) != 1 {
				t.Fatalf("%d clients signed in, %d migrations; want 1 and 1 (events %v)", signedIn, e.events.count(migrate.Migrated), e.events.all)
			}
			if got := e.events.count(migrate.Replayed) + e.events.count(migrate.NotFound); got != n-1 {
				t.Fatalf("%d replayed or not-found, want %d", got, n-1)
			}
		})
	}
}

// TestI13MigrationKeepsNoAnonymousData: values an anonymous sessionguard
// session held (which an attacker may have prepared) do not reach the
// migrated user's session.
func TestI13MigrationKeepsNoAnonymousData(t *testing.T) {
	e := newEnv(t, legacyStore{memstore.NewWithCleanupInterval(0), false}, time.Now().Add(time.Hour))
	prepare := e.sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = session.From(r).Put("next", "https://evil.example/")
	}))
	w := httptest.NewRecorder()
	prepare.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	anon := cookieNamed(w.Result(), e.sessions.CookieName())
	if anon == nil {
		t.Fatal("no anonymous session")
	}
	var kept string
	check := e.sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kept = session.From(r).GetString("next")
	}))
	res := e.do(signedIn(t, e), anon)
	if got := bodyOf(t, res); got != "user=alice recent=false" {
		t.Fatalf("migration: %q", got)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(cookieNamed(res, e.sessions.CookieName()))
	check.ServeHTTP(httptest.NewRecorder(), r)
	if kept != "" {
		t.Fatalf("the anonymous session's value %q reached the signed-in session", kept)
	}
}

// TestI9LegacyStoreDown: when the legacy store cannot answer, nobody is
// signed in, the failure is reported, and the legacy cookie stays for a
// later request to migrate.
func TestI9LegacyStoreDown(t *testing.T) {
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "scs.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, legacyStore{boltstore.NewWithCleanupInterval(db, 0), false}, time.Now().Add(time.Hour))
	legacy := signedIn(t, e)
	if err := db.Close(); err != nil { // the legacy store is now down
		t.Fatal(err)
	}
	res := e.do(legacy)
	if got := bodyOf(t, res); got != "user= recent=false" {
		t.Fatalf("body %q, want nobody signed in", got)
	}
	if e.events.count(migrate.Failed) != 1 || e.events.all[0].Err == nil {
		t.Fatalf("events %v, want one failure with its error", e.events.all)
	}
	if c := cookieNamed(res, "session"); c != nil {
		t.Fatalf("legacy cookie expired although the migration could not be tried: %v", c)
	}
}
