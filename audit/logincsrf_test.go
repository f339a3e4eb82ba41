package audit

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLoginCSRF signs in from another site against applications with and
// without a defence.
func TestLoginCSRF(t *testing.T) {
	t.Parallel()
	base := app{anonSession: true, renew: true, loginRedirect: "/dashboard", httpOnly: true, noStore: true}
	with := func(f func(*app)) app { a := base; f(&a); return a }
	for _, tc := range []struct {
		name   string
		app    app
		target Target
		want   Status
	}{
		{"no defence", base, Target{}, StatusFail},
		{"http.CrossOriginProtection", with(func(a *app) { a.originCheck = true }), Target{}, StatusPass},
		{"CSRF token (double submit) in the form", with(func(a *app) { a.csrf = "csrftoken" }), Target{}, StatusPass},
		// A Referer check that lets a request without one through is no
		// defence: the attacker's page sends none (Referrer-Policy:
		// no-referrer).
		{"Referer check that lets a missing Referer through", with(func(a *app) { a.refererCheck = true }), Target{}, StatusFail},
		{"login form sent by GET", with(func(a *app) { a.getForm = true }), Target{AllowPasswordInURL: true}, StatusSkip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newApp(t, tc.app)
			tg := auditTarget(srv.URL, tc.target)
			tg.Samples = -1
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rep, err := Run(ctx, tg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			c, _ := rep.Check(IDLoginCSRF)
			if c.Status != tc.want {
				t.Errorf("login-csrf %s, want %s: %q", c.Status, tc.want, c.Evidence)
			}
			if c.Status == StatusFail && c.Severity != SeverityMedium {
				t.Errorf("severity %s, want medium", c.Severity)
			}
		})
	}
}

// TestLoginCSRFRequest: the cross-site sign-in carries what a browser
// sends for a form posted from another site, and nothing of the
// application's.
func TestLoginCSRFRequest(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var crossSite []*http.Request
	inner := newApp(t, app{anonSession: true, renew: true, loginRedirect: "/dashboard"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			mu.Lock()
			crossSite = append(crossSite, r.Clone(context.Background()))
			mu.Unlock()
		}
		inner.Config.Handler.ServeHTTP(w, r)
	}))
	defer srv.Close()
	rep, err := Run(context.Background(), auditTarget(srv.URL, Target{Samples: -1}))
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := rep.Check(IDLoginCSRF); c.Status != StatusFail {
		t.Errorf("login-csrf %s: %q", c.Status, c.Evidence)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(crossSite) != 1 {
		t.Fatalf("%d cross-site POSTs, want 1", len(crossSite))
	}
	r := crossSite[0]
	got := fmt.Sprintf("Origin=%s Sec-Fetch-Mode=%s Sec-Fetch-Dest=%s Referer=%q cookies=%d",
		r.Header.Get("Origin"), r.Header.Get("Sec-Fetch-Mode"), r.Header.Get("Sec-Fetch-Dest"), r.Referer(), len(r.Cookies()))
	if want := `Origin=https://attacker.invalid Sec-Fetch-Mode=navigate Sec-Fetch-Dest=document Referer="" cookies=0`; got != want {
		t.Errorf("cross-site sign-in: %s\nwant %s", got, want)
	}
	if !strings.HasPrefix(r.URL.Path, "/login") {
		t.Errorf("posted to %s", r.URL)
	}
}

// TestAbsoluteTimeout is the opt-in check against applications with and
// without an absolute timeout; the session is kept busy, so an idle timeout
// alone does not end it.
func TestAbsoluteTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		idle, absolute time.Duration
		wait           time.Duration
		want           Status
	}{
		{"absolute timeout shorter than the wait", 0, 300 * time.Millisecond, time.Second, StatusPass},
		{"idle timeout only, kept busy", 250 * time.Millisecond, 0, 800 * time.Millisecond, StatusFail},
		{"no timeout", 0, 0, 300 * time.Millisecond, StatusFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newApp(t, app{anonSession: true, renew: true, idle: tc.idle, absolute: tc.absolute, loginRedirect: "/dashboard"})
			rep, err := Run(context.Background(), auditTarget(srv.URL, Target{AbsoluteWait: tc.wait, Samples: -1}))
			if err != nil {
				t.Fatal(err)
			}
			c, _ := rep.Check(IDAbsoluteTimeout)
			if c.Status != tc.want {
				t.Errorf("absolute-timeout %s, want %s: %q", c.Status, tc.want, c.Evidence)
			}
		})
	}
	if err := (Target{BaseURL: "http://127.0.0.1/", User: "u", Password: "p", AbsoluteWait: -time.Second}).Validate(); err == nil {
		t.Error("a negative absolute wait is accepted")
	}
}
