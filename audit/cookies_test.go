package audit

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCookieAsStored: the attribute checks judge the cookie the browser
// stores, not the last Set-Cookie of that name; cookie-path and
// cookie-lifetime report a cookie sent to subdomains and a persistent
// session cookie.
func TestCookieAsStored(t *testing.T) {
	t.Parallel()
	good := app{anonSession: true, renew: true, secure: true, httpOnly: true, sameSite: http.SameSiteLaxMode, loginRedirect: "/dashboard"}
	decoys, persistent, domain := good, good, good
	decoys.decoys = true
	persistent.maxAge = 30 * 24 * 3600
	domain.domain = "127.0.0.1"
	tests := []struct {
		name string
		app  app
		want map[string]Status
	}{
		{"decoy for another domain and a deletion on an old path after the real cookie", decoys, map[string]Status{
			IDCookieSecure: StatusPass, IDCookieHTTPOnly: StatusPass, IDCookieSameSite: StatusPass, IDCookiePath: StatusPass, IDCookieLifetime: StatusPass}},
		{"persistent session cookie, remember-me not ticked", persistent, map[string]Status{IDCookieLifetime: StatusFail, IDCookieHTTPOnly: StatusPass}},
		{"Domain attribute", domain, map[string]Status{IDCookiePath: StatusFail, IDCookieHTTPOnly: StatusPass}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newApp(t, tc.app)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			rep, err := Run(ctx, auditTarget(srv.URL, Target{Samples: -1}))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			for id, want := range tc.want {
				c, _ := rep.Check(id)
				if c.Status != want {
					t.Errorf("%s: %s, want %s:\n%s", id, c.Status, want, strings.Join(c.Evidence, "\n"))
				}
			}
		})
	}
}

func TestJarStorageRules(t *testing.T) {
	u := mustURL(t, "https://h.example/login")
	j := newJar()
	j.setFrom("POST", u, []*http.Cookie{
		{Name: "sid", Value: "real", Path: "/", Secure: true, HttpOnly: true, Raw: "sid=real; Path=/; Secure; HttpOnly"},
		{Name: "sid", Value: "decoy", Domain: "evil.example", Path: "/"},
		{Name: "sid", Value: "", Path: "/legacy", MaxAge: -1},
		{Name: "__Host-x", Value: "bad", Path: "/", Secure: true, Domain: "h.example"},
		{Name: "__Secure-y", Value: "bad", Path: "/"},
	})
	k, c, ok := j.stored(mustURL(t, "https://h.example/dashboard"), "sid")
	if !ok || c.value != "real" || !c.httpOnly || k.path != "/" || c.setBy != "POST /login" {
		t.Errorf("stored sid = %+v %+v %v", k, c, ok)
	}
	if got := cookieString(j.Cookies(mustURL(t, "https://h.example/"))); got != "sid=real" {
		t.Errorf("cookies %q", got)
	}
	if r := j.rejections(); len(r) != 3 {
		t.Errorf("rejections %q", r)
	}
	// Plain HTTP (not loopback) cannot set a Secure cookie, nor overwrite one.
	hj := newJar()
	hj.setFrom("GET", mustURL(t, "https://h.example/"), []*http.Cookie{{Name: "s", Value: "a", Path: "/", Secure: true}})
	hj.setFrom("GET", mustURL(t, "http://h.example/"), []*http.Cookie{{Name: "s", Value: "b", Path: "/"}, {Name: "t", Value: "c", Path: "/", Secure: true}})
	if got := cookieString(hj.Cookies(mustURL(t, "https://h.example/"))); got != "s=a" {
		t.Errorf("after plain-HTTP attempts: %q", got)
	}
}

// TestCookiePathUnderABasePath: an application under /app whose session
// cookie has Path=/ is sent to every other application on the host.
func TestCookiePathUnderABasePath(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		want       Status
	}{
		{"sid", "/", StatusFail},
		{"sid", "/app", StatusPass},
		{"sid", "/app/", StatusPass},
		{"__Host-sid", "/", StatusPass}, // __Host- requires Path=/
	} {
		base := mustURL(t, "https://h.example/app")
		e := &env{base: base, secrets: map[string]bool{}}
		b := e.newBrowser("victim")
		b.jar.setFrom("POST", mustURL(t, "https://h.example/app/login"), []*http.Cookie{
			{Name: tc.name, Value: "v", Path: tc.path, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}})
		a := &auditor{env: e, victim: b, cookies: []string{tc.name}, checkURL: mustURL(t, "https://h.example/app/dashboard")}
		c := a.cookieChecks()[IDCookiePath]
		if c.Status != tc.want {
			t.Errorf("%s; Path=%s: %s, want %s: %q", tc.name, tc.path, c.Status, tc.want, c.Evidence)
		}
	}
}
