package session_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/session/sessiontest"
)

func TestNotRecent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		login    func(s *session.Session) error
		recent   bool
		absolute time.Duration // the timeout that applies; 0 for the default
	}{
		{"plain sign-in", func(s *session.Session) error { return s.Login("alice") }, true, 0},
		{"NotRecent", func(s *session.Session) error { return s.Login("alice", session.NotRecent()) }, false, 0},
		{"NotRecent with RememberMe", func(s *session.Session) error {
			return s.Login("alice", session.NotRecent(), session.RememberMe())
		}, false, session.DefaultRememberAbsoluteTimeout},
		{"a later Login without it", func(s *session.Session) error {
			if err := s.Login("alice", session.NotRecent()); err != nil {
				return err
			}
			return s.Login("alice")
		}, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sessiontest.NewManager(session.Config{})
			defer m.Close()
			var during bool
			mux := http.NewServeMux()
			mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
				s := session.From(r)
				if err := tc.login(s); err != nil {
					t.Error(err)
				}
				during = s.AuthenticatedWithin(time.Minute)
			})
			mux.Handle("/sensitive", m.RequireRecentAuth(5*time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = session.From(r).Renew()
			})))
			mux.HandleFunc("POST /renew", func(w http.ResponseWriter, r *http.Request) {
				if err := session.From(r).Renew(); err != nil {
					t.Error(err)
				}
			})
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(session.From(r).UserID())) })
			ts := httptest.NewServer(m.Handler(mux))
			defer ts.Close()
			c := sessiontest.NewClient(ts)
			res, err := c.Post(ts.URL+"/login", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if during != tc.recent {
				t.Fatalf("AuthenticatedWithin during the sign-in = %v, want %v", during, tc.recent)
			}
			if got := get(t, c, ts.URL+"/"); got != "alice" {
				t.Fatalf("signed in as %q, want alice", got)
			}
			for _, path := range []string{"/renew", "/sensitive", "/sensitive"} {
				if path == "/renew" { // a renewal keeps what the sign-in recorded
					res, err = c.Post(ts.URL+path, "", nil)
					if err != nil {
						t.Fatal(err)
					}
					res.Body.Close()
					continue
				}
				res, err = c.Get(ts.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if ok := res.StatusCode == http.StatusOK; ok != tc.recent {
					t.Fatalf("RequireRecentAuth let it through: %v, want %v", ok, tc.recent)
				}
			}
			absolute := tc.absolute
			if absolute == 0 {
				absolute = m.AbsoluteTimeout()
			}
			m.KeepActive(absolute, func() { _ = get(t, c, ts.URL+"/") })
			if got := get(t, c, ts.URL+"/"); got != "" {
				t.Fatalf("signed in as %q after the absolute timeout", got)
			}
		})
	}
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
