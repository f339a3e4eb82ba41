package migrate_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/migrate"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/session/sessiontest"
)

// TestExpiredCookieAttributes: the response expires the legacy cookie in
// a form browsers accept: Secure for a prefixed name or over HTTPS, with
// the configured Path and Domain.
func TestExpiredCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		name, cookie, path, domain string
		https, secure              bool
	}{
		{"plain name over HTTP", "SESSID", "", "", false, false},
		{"plain name over HTTPS", "SESSID", "", "", true, true},
		{"__Host- name", "__Host-legacy", "", "", false, true},
		{"__Secure- name in any case", "__SECURE-legacy", "/app", "example.com", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			manager := sessiontest.NewManager(session.Config{})
			defer manager.Close()
			legacy := &homegrown{users: map[string]string{"t": "alice"}}
			m, err := migrate.New(migrate.Config{Source: legacy, CookieName: tc.cookie, CookiePath: tc.path,
				CookieDomain: tc.domain, Cutoff: time.Now().Add(time.Hour), OnEvent: func(migrate.Event) {}})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			if tc.https {
				r.TLS = &tls.ConnectionState{}
			}
			r.AddCookie(&http.Cookie{Name: tc.cookie, Value: "t"})
			w := httptest.NewRecorder()
			manager.Handler(m.Handler(http.NotFoundHandler())).ServeHTTP(w, r)
			var got *http.Cookie
			for _, c := range w.Result().Cookies() {
				if c.Name == tc.cookie {
					got = c
				}
			}
			wantPath := tc.path
			if wantPath == "" {
				wantPath = "/"
			}
			if got == nil || got.MaxAge != -1 || got.Secure != tc.secure || got.Path != wantPath || got.Domain != tc.domain {
				t.Fatalf("expiring cookie %+v; want Secure=%v Path=%s Domain=%q", got, tc.secure, wantPath, tc.domain)
			}
			if manager.Events.Count(session.EventLogin) != 1 {
				t.Fatalf("events %v, want one sign-in", manager.Events.Kinds())
			}
		})
	}
}
