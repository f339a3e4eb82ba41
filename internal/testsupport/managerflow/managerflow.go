// Package managerflow is a test helper for store packages: it runs the
// session manager end to end on a store, as a browser would use it, to
// show that the store serves the session layer and not only the store
// contract (which store/storetest checks).
//
// It is part of the test-support module
// (github.com/sessionguard/sessionguard/internal/testsupport), used by the
// tests of the store modules, the benchmarks and the command. Its path is
// under internal/, so only the repository's own modules can import it: it
// is not an API, and no user of the library ever depends on it.
package managerflow

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
)

// Run drives a session.Manager on st through what a browser does:
// an anonymous visit that stores a value, a sign-in, a request with the
// pre-sign-in cookie (the fixation attempt), the user's session list, a
// second device revoked by "sign out everywhere else", and a sign-out
// replayed.
func Run(t *testing.T, st store.Store) {
	t.Helper()
	m, err := session.New(st, session.Config{OnEvent: func(session.Event) {}})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		var err error
		switch r.URL.Path {
		case "/visit":
			err = s.Put("cart", "3 books")
		case "/login":
			err = s.Login("alice")
		case "/others":
			var n int
			n, err = s.RevokeOthers(r.Context(), session.EndSignedOut)
			fmt.Fprintf(w, "revoked %d ", n)
		case "/sessions":
			var infos []session.Info
			infos, err = s.Sessions(r.Context())
			fmt.Fprintf(w, "%d sessions ", len(infos))
		case "/logout":
			err = s.Logout()
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "user=%q", s.UserID())
	}))
	do := func(path string, c *http.Cookie) (string, *http.Cookie) {
		t.Helper()
		req := httptest.NewRequest("POST", "https://app.test"+path, nil)
		if c != nil {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		for _, nc := range rec.Result().Cookies() {
			if nc.Name == session.DefaultCookieName && nc.MaxAge >= 0 && nc.Value != "" {
				c = nc
			}
		}
		return rec.Body.String(), c
	}
	_, anon := do("/visit", nil)
	if anon == nil {
		t.Fatal("no session cookie after storing a value")
	}
	_, alice := do("/login", anon)
	if alice == nil || alice.Value == anon.Value {
		t.Fatal("sign-in did not issue a new token")
	}
	if body, _ := do("/check", anon); body != `user=""` {
		t.Errorf("the pre-sign-in token after the sign-in: %s, want an anonymous session", body)
	}
	if body, _ := do("/check", alice); body != `user="alice"` {
		t.Errorf("the signed-in token: %s", body)
	}
	_, phone := do("/login", nil)
	if body, _ := do("/sessions", alice); body != `2 sessions user="alice"` {
		t.Errorf("sessions: %s", body)
	}
	if body, _ := do("/others", alice); body != `revoked 1 user="alice"` {
		t.Errorf("sign out everywhere else: %s", body)
	}
	if body, _ := do("/check", phone); body != `user=""` {
		t.Errorf("the revoked device: %s, want an anonymous session", body)
	}
	do("/logout", alice)
	if body, _ := do("/check", alice); body != `user=""` {
		t.Errorf("the token replayed after sign-out: %s, want an anonymous session", body)
	}
}
