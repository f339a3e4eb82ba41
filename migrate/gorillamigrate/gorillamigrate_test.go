package gorillamigrate_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/sessionguard/sessionguard/migrate"
	"github.com/sessionguard/sessionguard/migrate/gorillamigrate"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/session/sessiontest"
)

const legacyName = "app-session"

// legacyApp is the application before the switch: gorilla/sessions,
// signing users in under "user".
func legacyHandler(st sessions.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := st.Get(r, legacyName)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if u := r.URL.Query().Get("user"); u != "" {
			s.Values["user"] = u
		} else {
			s.Values["cart"] = "1 book"
		}
		if err := s.Save(r, w); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
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

type env struct {
	store    sessions.Store
	dir      string // the FilesystemStore's directory, or ""
	sessions *sessiontest.Manager
	events   *events
	app      http.Handler
}

func stores(t *testing.T) map[string]func() (sessions.Store, string) {
	hash, block := securecookie.GenerateRandomKey(32), securecookie.GenerateRandomKey(32)
	return map[string]func() (sessions.Store, string){
		"CookieStore": func() (sessions.Store, string) { return sessions.NewCookieStore(hash, block), "" },
		"FilesystemStore": func() (sessions.Store, string) {
			dir := t.TempDir()
			return sessions.NewFilesystemStore(dir, hash, block), dir
		},
	}
}

func newEnv(t *testing.T, st sessions.Store, dir string, cutoff time.Time) *env {
	e := &env{store: st, dir: dir, sessions: sessiontest.NewManager(session.Config{}), events: new(events)}
	t.Cleanup(e.sessions.Close)
	m, err := gorillamigrate.New(gorillamigrate.Config{
		Config: migrate.Config{CookieName: legacyName, Cutoff: cutoff, OnEvent: e.events.add},
		Store:  st,
		User: func(s *sessions.Session) (string, error) {
			u, _ := s.Values["user"].(string)
			return u, nil
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
	e.app = e.sessions.Handler(m.Handler(mux))
	return e
}

// legacyCookie returns the gorilla cookie of a request to the legacy app.
func (e *env) legacyCookie(t *testing.T, query string) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	legacyHandler(e.store).ServeHTTP(w, httptest.NewRequest("GET", "/?"+query, nil))
	for _, c := range w.Result().Cookies() {
		if c.Name == legacyName {
			return c
		}
	}
	t.Fatalf("the gorilla application set no cookie: %v", w.Result().Header)
	return nil
}

// files counts the FilesystemStore's session files.
func (e *env) files(t *testing.T) int {
	t.Helper()
	if e.dir == "" {
		return 0
	}
	m, err := filepath.Glob(filepath.Join(e.dir, "session_*"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
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
			name    string
			cutoff  time.Time
			legacy  func(t *testing.T, e *env) *http.Cookie
			outcome migrate.Outcome
			body    string
			files   int // session files left in a FilesystemStore
		}{
			{"signed-in legacy session", future, signedIn, migrate.Migrated, "user=alice recent=false", 0},
			{"anonymous legacy session", future, func(t *testing.T, e *env) *http.Cookie { return e.legacyCookie(t, "") },
				migrate.Anonymous, "user= recent=false", 0},
			{"tampered legacy cookie", future, func(t *testing.T, e *env) *http.Cookie {
				c := signedIn(t, e)
				c.Value = c.Value[:len(c.Value)-4] + "AAAA"
				return c
			}, migrate.NotFound, "user= recent=false", 1},
			{"legacy session file gone", future, func(t *testing.T, e *env) *http.Cookie {
				c := signedIn(t, e)
				if e.dir != "" {
					m, _ := filepath.Glob(filepath.Join(e.dir, "session_*"))
					for _, f := range m {
						if err := os.Remove(f); err != nil {
							t.Fatal(err)
						}
					}
					return c
				}
				return &http.Cookie{Name: legacyName, Value: "forged"}
			}, migrate.NotFound, "user= recent=false", 0},
			{"after the cut-off", time.Now().Add(-time.Second), signedIn, migrate.AfterCutoff, "user= recent=false", 1},
		} {
			t.Run(storeName+"/"+tc.name, func(t *testing.T) {
				st, dir := newStore()
				e := newEnv(t, st, dir, tc.cutoff)
				legacy := tc.legacy(t, e)
				res := e.do(legacy)
				if got := bodyOf(t, res); got != tc.body {
					t.Fatalf("body %q, want %q", got, tc.body)
				}
				if got := e.events.count(tc.outcome); got != 1 || len(e.events.all) != 1 {
					t.Fatalf("events %v, want one %v", e.events.all, tc.outcome)
				}
				if c := cookieNamed(res, legacyName); c == nil || c.MaxAge != -1 {
					t.Fatalf("legacy cookie not expired: %v", res.Header["Set-Cookie"])
				}
				if dir != "" && e.files(t) != tc.files {
					t.Fatalf("%d session files left, want %d", e.files(t), tc.files)
				}
			})
		}
	}
}

func signedIn(t *testing.T, e *env) *http.Cookie { return e.legacyCookie(t, "user=alice") }

// TestI3MigratedTokenIsFresh: the sessionguard session has a token of its
// own, the sign-in is not recent, and a copy of the legacy cookie used
// afterwards signs nobody in, even from a CookieStore that keeps nothing
// on the server.
func TestI3MigratedTokenIsFresh(t *testing.T) {
	for storeName, newStore := range stores(t) {
		t.Run(storeName, func(t *testing.T) {
			st, dir := newStore()
			e := newEnv(t, st, dir, time.Now().Add(time.Hour))
			legacy := signedIn(t, e)
			res := e.do(legacy)
			sg := cookieNamed(res, e.sessions.CookieName())
			if sg == nil || sg.Value == legacy.Value {
				t.Fatalf("sessionguard cookie %v reuses the legacy value", sg)
			}
			if got := bodyOf(t, e.do(sg)); got != "user=alice recent=false" {
				t.Fatalf("with the new cookie: %q", got)
			}
			if got := bodyOf(t, e.do(legacy)); got != "user= recent=false" {
				t.Fatalf("legacy cookie replayed: %q", got)
			}
			if e.events.count(migrate.Replayed)+e.events.count(migrate.NotFound) != 1 {
				t.Fatalf("replay events: %v", e.events.all)
			}
		})
	}
}

// TestConcurrentUseMigratesOnce: parallel requests bearing one legacy
// cookie sign in at most one client.
func TestConcurrentUseMigratesOnce(t *testing.T) {
	for storeName, newStore := range stores(t) {
		t.Run(storeName, func(t *testing.T) {
			st, dir := newStore()
			e := newEnv(t, st, dir, time.Now().Add(time.Hour))
			legacy := signedIn(t, e)
			const n = 16
			var wg sync.WaitGroup
			var mu sync.Mutex
			signedIn := 0
			start := make(chan struct{})
			for range n {
				wg.Go(func() {
					<-start
					if strings.HasPrefix(bodyOf(t, e.do(legacy)), "user=alice") {
						mu.Lock()
						signedIn++
						mu.Unlock()
					}
				})
			}
			close(start)
			wg.Wait()
			if signedIn != 1 || e.events.count(migrate.Migrated) != 1 {
				t.Fatalf("%d clients signed in, %d migrations; want 1 and 1", signedIn, e.events.count(migrate.Migrated))
			}
		})
	}
}

// TestSeveralInstancesShareTheLedger: with two instances behind one load
// balancer, a copied CookieStore cookie is refused by the second only when
// they share the Ledger; a StoreLedger over the shared sessionguard store
// does that.
func TestSeveralInstancesShareTheLedger(t *testing.T) {
	for _, tc := range []struct {
		name       string
		shared     bool
		migrations int
	}{
		{"a memory ledger per instance", false, 2},
		{"StoreLedger over the shared store", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hash := securecookie.GenerateRandomKey(32)
			legacyStore := sessions.NewCookieStore(hash)
			manager := sessiontest.NewManager(session.Config{}) // its store is the one both instances share
			defer manager.Close()
			ev := new(events)
			instance := func() http.Handler {
				cfg := migrate.Config{CookieName: legacyName, Cutoff: time.Now().Add(time.Hour), OnEvent: ev.add}
				if tc.shared {
					cfg.Ledger = migrate.StoreLedger(manager.Store)
				}
				m, err := gorillamigrate.New(gorillamigrate.Config{Config: cfg, Store: legacyStore,
					User: func(s *sessions.Session) (string, error) { u, _ := s.Values["user"].(string); return u, nil }})
				if err != nil {
					t.Fatal(err)
				}
				return manager.Handler(m.Handler(http.NotFoundHandler()))
			}
			e := &env{store: legacyStore}
			legacy := e.legacyCookie(t, "user=alice")
			for _, app := range []http.Handler{instance(), instance()} {
				r := httptest.NewRequest("GET", "/", nil)
				r.AddCookie(legacy)
				app.ServeHTTP(httptest.NewRecorder(), r)
			}
			if got := ev.count(migrate.Migrated); got != tc.migrations {
				t.Fatalf("%d migrations, want %d (events %v)", got, tc.migrations, ev.all)
			}
		})
	}
}
