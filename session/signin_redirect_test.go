package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/session"
)

func TestSafeNext(t *testing.T) {
	cases := []struct {
		name string
		in   string
		ok   bool
	}{
		{"root", "/", true},
		{"path", "/dashboard", true},
		{"query", "/search?q=a&b=c", true},
		{"fragment", "/a#b", true},
		{"encoded slashes", "/%2F%2Fevil.example", true},
		{"unicode", "/café", true},
		{"empty", "", false},
		{"relative", "dashboard", false},
		{"protocol-relative", "//evil.example", false},
		{"backslash", "/\\evil.example", false},
		{"backslash later", "/a\\b", false},
		{"scheme", "https://evil.example/", false},
		{"javascript", "javascript:alert(1)", false},
		{"tab", "/\t/evil.example", false},
		{"newline", "/a\nSet-Cookie: x=y", false},
		{"nul", "/a\x00", false},
		{"del", "/a\x7f", false},
		{"leading space", " /a", false},
		{"bad utf-8", "/a\xff", false},
		{"too long", "/" + strings.Repeat("a", session.MaxNextLen), false},
		{"longest", "/" + strings.Repeat("a", session.MaxNextLen-1), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := session.SafeNext(tc.in)
			if ok != tc.ok || (ok && got != tc.in) || (!ok && got != "") {
				t.Fatalf("SafeNext(%q) = %q, %v; want ok %v", tc.in, got, ok, tc.ok)
			}
		})
	}
}

// FuzzSafeNext: whatever SafeNext accepts stays on the site, also as a
// browser reads it (leading and trailing blanks and controls stripped,
// tabs and newlines removed, backslashes read as slashes).
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/a?b#c", "//x", "/\\x", "https://x", "/%2f%2fx", "/\t/x", " //x", "/..//x", "/a:b"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://site.example/page")
	f.Fuzz(func(t *testing.T, in string) {
		next, ok := session.SafeNext(in)
		if !ok {
			return
		}
		if next != in || len(next) > session.MaxNextLen {
			t.Fatalf("SafeNext(%q) = %q", in, next)
		}
		for _, s := range []string{next, browserish(next)} {
			if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
				t.Fatalf("%q reads as %q", next, s)
			}
			u, err := url.Parse(s)
			if err != nil {
				t.Fatalf("accepted %q does not parse: %v", next, err)
			}
			if r := base.ResolveReference(u); r.Host != base.Host || r.Scheme != base.Scheme {
				t.Fatalf("%q leads to %s", next, r)
			}
		}
	})
}

// browserish applies the input clean-up of the WHATWG URL parser.
func browserish(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= 0x20 })
	s = strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(s)
	return s
}

func TestRequireSignIn(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secret")) })
	guarded := e.m.Handler(e.m.RequireSignIn("/login?lang=en")(page))
	bare := e.m.RequireSignIn("/login")(page) // not inside Handler
	signed := e.signIn("alice", "test")
	cases := []struct {
		name     string
		h        http.Handler
		method   string
		target   string
		tok      string
		wantCode int
		wantLoc  string
	}{
		{"signed in", guarded, "GET", "/dashboard", signed, 200, ""},
		{"anonymous", guarded, "GET", "/dashboard?tab=1", "", 303, "/login?lang=en&next=%2Fdashboard%3Ftab%3D1"},
		// A session ID in the link is not carried into the sign-in page's
		// address, whatever the parameter's name or case.
		{"session-like parameters dropped", guarded, "GET", "/dashboard?SID=planted1&tab=1&session_id=planted2&" + session.DefaultCookieName + "=planted3",
			"", 303, "/login?lang=en&next=%2Fdashboard%3Ftab%3D1"},
		{"only session-like parameters", guarded, "GET", "/dashboard?token=planted", "", 303, "/login?lang=en&next=%2Fdashboard"},
		{"path parameter", guarded, "GET", "/dashboard;jsessionid=planted", "", 303, "/login?lang=en"},
		{"post keeps no next", guarded, "POST", "/dashboard", "", 303, "/login?lang=en"},
		{"protocol-relative path", guarded, "GET", "//evil.example/x", "", 303, "/login?lang=en"},
		{"outside Handler, anonymous", bare, "GET", "/x", "", 303, "/login?next=%2Fx"},
		{"outside Handler, signed in", bare, "GET", "/x", signed, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.req(tc.method, "/", nonEmpty(tc.tok)...)
			r.URL = &url.URL{Path: tc.target}
			if u, err := url.ParseRequestURI(tc.target); err == nil {
				r.URL = u
			}
			r.RequestURI = tc.target
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, r)
			if rec.Code != tc.wantCode || rec.Header().Get("Location") != tc.wantLoc {
				t.Fatalf("%d %q, want %d %q", rec.Code, rec.Header().Get("Location"), tc.wantCode, tc.wantLoc)
			}
		})
	}
}

// TestI15RequireSignInCarriesReason: the dead-cookie request that
// RequireSignIn redirects hands the end reason to the sign-in page, and
// the sign-in returns to the page asked for.
func TestI15RequireSignInCarriesReason(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	j := jar{}
	j.visit(e, "/login", loginHandler("alice"))
	if _, err := e.m.RevokeAll(context.Background(), "alice", session.EndCredentialsChanged); err != nil {
		t.Fatal(err)
	}
	page := e.m.RequireSignIn("/login")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	rec := j.visit(e, "/settings?x=1", page.ServeHTTP)
	loc, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusSeeOther || err != nil {
		t.Fatalf("%d %v", rec.Code, err)
	}
	var ended session.EndReason
	var dest string
	j.visit(e, loc.String(), func(w http.ResponseWriter, r *http.Request) {
		ended = session.From(r).Ended()
		dest = session.Next(r, "/home")
	})
	if ended != session.EndCredentialsChanged || dest != "/settings?x=1" {
		t.Fatalf("sign-in page: Ended %v, next %q", ended, dest)
	}
}

func TestNextFallback(t *testing.T) {
	for _, next := range []string{"", "//evil.example", "https://evil.example", "/\\evil"} {
		r := httptest.NewRequest("GET", "/login?next="+url.QueryEscape(next), nil)
		if got := session.Next(r, "/home"); got != "/home" {
			t.Errorf("Next with %q: %q", next, got)
		}
	}
}

func TestRequireSignInRefusesBadLoginPath(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	for _, p := range []string{"", "login", "//evil.example/login", "https://evil.example/login"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RequireSignIn(%q) did not panic", p)
				}
			}()
			e.m.RequireSignIn(p)
		}()
	}
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
