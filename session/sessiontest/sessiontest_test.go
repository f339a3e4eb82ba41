package sessiontest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/session/sessiontest"
)

// app greets the signed-in user; POST /logout signs out.
func app(w http.ResponseWriter, r *http.Request) {
	s := session.From(r)
	if r.Method == http.MethodPost && r.URL.Path == "/logout" {
		if err := s.Logout(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
		return
	}
	dashboard(w, r)
}

func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestClient(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  session.Config
		tls  bool
	}{
		{"secure cookie over plain HTTP loopback", session.Config{}, false},
		{"secure cookie over TLS", session.Config{}, true},
		{"insecure development cookie", session.Config{Cookie: session.CookieConfig{InsecureWithoutSecure: true}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sessiontest.NewManager(tc.cfg)
			defer m.Close()
			var ts *httptest.Server
			if tc.tls {
				ts = httptest.NewTLSServer(m.Handler(http.HandlerFunc(app)))
			} else {
				ts = httptest.NewServer(m.Handler(http.HandlerFunc(app)))
			}
			defer ts.Close()
			c := m.Client(ts, "alice")
			if got := get(t, c, ts.URL+"/"); got != "Welcome alice" {
				t.Fatalf("signed-in client got %q", got)
			}
			// The jar follows the application's Set-Cookie: after the
			// sign-out the client is anonymous.
			res, err := c.Post(ts.URL+"/logout", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got := get(t, c, ts.URL+"/"); got != "please sign in" {
				t.Fatalf("after logout got %q", got)
			}
			if got := get(t, sessiontest.NewClient(ts), ts.URL+"/"); got != "please sign in" {
				t.Fatalf("new client got %q", got)
			}
		})
	}
}

func TestLoginIsASignIn(t *testing.T) {
	m := sessiontest.NewManager(session.Config{})
	defer m.Close()
	fresh := m.RequireRecentAuth(5 * time.Minute)(http.HandlerFunc(dashboard))
	h := m.Handler(fresh)
	do := func(c *http.Cookie) int {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(c)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	a, b := m.Login("alice"), m.Login("alice")
	if a.Value == b.Value {
		t.Fatal("two sign-ins share a token")
	}
	if !a.Secure || !a.HttpOnly || a.Name != m.CookieName() || !a.Expires.IsZero() {
		t.Fatalf("cookie %v is not the Manager's session cookie", a)
	}
	infos, err := m.UserSessions(context.Background(), "alice")
	if err != nil || len(infos) != 2 {
		t.Fatalf("UserSessions = %d sessions, %v; want 2", len(infos), err)
	}
	if got := do(a); got != http.StatusOK {
		t.Fatalf("fresh sign-in refused by RequireRecentAuth: %d", got)
	}
	m.Clock.Advance(6 * time.Minute)
	if got := do(a); got != http.StatusUnauthorized {
		t.Fatalf("old sign-in let through RequireRecentAuth: %d", got)
	}
	if got := m.Events.Count(session.EventLogin); got != 2 {
		t.Fatalf("%d login events, want 2", got)
	}
	if rm := m.Login("bob", session.RememberMe()); rm.Expires.IsZero() {
		t.Fatal("RememberMe was not passed to Login")
	}
}

func TestPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"Now set", func() { sessiontest.NewManager(session.Config{Now: time.Now}) }, "Config.Now"},
		{"bad config", func() { sessiontest.NewManager(session.Config{IdleTimeout: -1}) }, "IdleTimeout"},
		{"empty user", func() {
			m := sessiontest.NewManager(session.Config{})
			defer m.Close()
			m.Login("")
		}, "empty user"},
		{"closed store", func() {
			m := sessiontest.NewManager(session.Config{})
			m.Close()
			m.Login("alice")
		}, "no session cookie"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tc.want) {
					t.Fatalf("panic %v, want one mentioning %q", r, tc.want)
				}
			}()
			tc.f()
		})
	}
}

func TestKeepActive(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  session.Config
	}{
		{"defaults", session.Config{}},
		{"short idle", session.Config{IdleTimeout: 2 * time.Second, AbsoluteTimeout: time.Minute}},
		{"long touch interval", session.Config{IdleTimeout: 10 * time.Minute, TouchInterval: 4 * time.Minute, AbsoluteTimeout: 3 * time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sessiontest.NewManager(tc.cfg)
			defer m.Close()
			h := m.Handler(http.HandlerFunc(dashboard))
			c := m.Login("alice")
			code := func() int {
				r := httptest.NewRequest("GET", "/", nil)
				r.AddCookie(c)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w.Code
			}
			m.KeepActive(m.AbsoluteTimeout()-time.Nanosecond, func() {
				if got := code(); got != http.StatusOK {
					t.Fatalf("active session ended before its absolute timeout: %d", got)
				}
			})
			m.Clock.Advance(time.Nanosecond)
			if got := code(); got != http.StatusUnauthorized {
				t.Fatalf("session alive at its absolute timeout: %d", got)
			}
			if e, ok := m.Events.Last(session.EventExpiredToken); !ok || e.UserID != "" && e.UserID != "alice" {
				t.Fatalf("no expired-token event: %v", m.Events.Kinds())
			}
		})
	}
}

func TestRecorderConcurrent(t *testing.T) {
	m := sessiontest.NewManager(session.Config{})
	defer m.Close()
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Login("alice"); err != nil {
			t.Error(err)
		}
	}))
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil)) })
	}
	wg.Wait()
	if got := m.Events.Count(session.EventLogin); got != n {
		t.Fatalf("%d login events, want %d", got, n)
	}
	if got := len(m.Events.Of(session.EventLogin, session.EventCreated)); got != n {
		t.Fatalf("Of: %d events, want %d", got, n)
	}
	m.Events.Reset()
	if got := len(m.Events.Events()); got != 0 {
		t.Fatalf("%d events after Reset", got)
	}
}

func TestNewJar(t *testing.T) {
	secure := &http.Cookie{Name: "__Host-sid", Value: "v", Path: "/", Secure: true}
	for _, tc := range []struct {
		url  string
		sent bool
	}{
		{"http://127.0.0.1:8080/", true},
		{"http://[::1]:8080/", true},
		{"http://localhost/", true},
		{"http://app.localhost/", true},
		{"https://example.com/", true},
		{"http://example.com/", false},
		{"http://10.0.0.1/", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			j := sessiontest.NewJar()
			j.SetCookies(u, []*http.Cookie{secure})
			if got := len(j.Cookies(u)) == 1; got != tc.sent {
				t.Fatalf("Secure cookie sent: %v, want %v", got, tc.sent)
			}
		})
	}
}
