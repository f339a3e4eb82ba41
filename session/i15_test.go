package session_test

import (
	"net/http"
	"testing"

	"github.com/sessionguard/sessionguard/session"
)

// TestI15PutAfterLogout: a value put after Logout in the same request lands
// in a fresh anonymous session: a new token, the old one dead, the value
// readable on the next request.
func TestI15PutAfterLogout(t *testing.T) {
	cases := []struct {
		name string
		cfg  session.Config
	}{
		{"default", session.Config{}},
		{"clear-site-data", session.Config{ClearSiteDataOnLogout: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, newMem(t), tc.cfg)
			old := e.signIn("alice", "test")
			var has bool
			var putErr error
			rec := e.do(func(w http.ResponseWriter, r *http.Request) {
				s := session.From(r)
				if err := s.Logout(); err != nil {
					t.Fatal(err)
				}
				putErr = s.Put("k", "You have been signed out.")
				has = s.Has("k")
			}, e.req("POST", "/logout", old))
			if putErr != nil || !has {
				t.Fatalf("Put after Logout: err %v, Has %v", putErr, has)
			}
			fresh := e.token(rec)
			if fresh == old {
				t.Fatal("the fresh session reuses the old token")
			}
			if u := e.user(old); u != "" {
				t.Fatalf("old token still signed in as %q", u)
			}
			got := e.do(whoami, e.req("GET", "/", fresh)).Body.String()
			if got != "user= k=You have been signed out." {
				t.Fatalf("fresh session reads %q", got)
			}
			csd := rec.Header().Get("Clear-Site-Data")
			if tc.cfg.ClearSiteDataOnLogout && (csd == "" || containsQuoted(csd, "cookies")) {
				t.Fatalf("Clear-Site-Data %q: want cache and storage, not cookies, when the response sets a new session", csd)
			}
		})
	}
}

// TestI15LogoutWithoutWrite: a plain logout still expires the cookie and
// clears every kind of site data when asked to.
func TestI15LogoutWithoutWrite(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{ClearSiteDataOnLogout: true})
	old := e.signIn("alice", "test")
	rec := e.do(logoutHandler, e.req("POST", "/logout", old))
	c := sessionCookie(t, rec, e.cookie)
	if c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout did not expire the cookie: %v", rec.Header())
	}
	if csd := rec.Header().Get("Clear-Site-Data"); !containsQuoted(csd, "cookies") {
		t.Fatalf("Clear-Site-Data %q lacks cookies", csd)
	}
}

func containsQuoted(h, v string) bool {
	for _, f := range splitComma(h) {
		if f == `"`+v+`"` {
			return true
		}
	}
	return false
}

func splitComma(h string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(h); i++ {
		if i == len(h) || h[i] == ',' {
			f := h[start:i]
			for len(f) > 0 && f[0] == ' ' {
				f = f[1:]
			}
			out = append(out, f)
			start = i + 1
		}
	}
	return out
}
