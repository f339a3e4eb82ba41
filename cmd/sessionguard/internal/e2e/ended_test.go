package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/memstore"
)

// TestI15_BrowserEndedAfterRedirect: in Chromium, a signed-out visitor
// sent to the sign-in page by RequireSignIn reads there why the session
// ended, once, and the page it asked for comes back after the sign-in.
func TestI15_BrowserEndedAfterRedirect(t *testing.T) {
	ctx := testContext(t)
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	m, err := session.New(st, session.Config{OnEvent: func(session.Event) {}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "ended=%s next=%s", session.From(r).Ended(), session.Next(r, "/"))
	})
	mux.HandleFunc("GET /signin", func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Login(userName); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		http.Redirect(w, r, session.Next(r, "/"), http.StatusSeeOther)
	})
	mux.Handle("GET /settings", m.RequireSignIn("/login")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "settings of %s", session.From(r).UserID())
	})))
	srv := httptest.NewServer(m.Handler(mux))
	t.Cleanup(srv.Close)
	b := newBrowser(ctx, t, "laptop", srv.URL)

	b.open("/signin")
	b.open("/settings?tab=security")
	if got := b.text(); got != "settings of "+userName {
		b.fatalf("signed in: %q", got)
	}
	if _, err := m.RevokeAll(context.Background(), userName, session.EndCredentialsChanged); err != nil {
		t.Fatal(err)
	}
	b.open("/settings?tab=security")
	if got, want := b.text(), "ended=credentials-changed next=/settings?tab=security"; b.path() != "/login?next=%2Fsettings%3Ftab%3Dsecurity" || got != want {
		b.fatalf("after the redirect: %s %q, want %q", b.path(), got, want)
	}
	b.open(b.path()) // reload
	if got := b.text(); got != "ended=none next=/settings?tab=security" {
		b.fatalf("after a reload: %q", got)
	}
	b.open("/signin?next=" + "%2Fsettings%3Ftab%3Dsecurity")
	if got := b.text(); b.path() != "/settings?tab=security" || got != "settings of "+userName {
		b.fatalf("after signing in again: %s %q", b.path(), got)
	}
}
