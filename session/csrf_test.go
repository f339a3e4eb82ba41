package session_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/session"
)

// csrfToken renders a "form" for a request bearing tokens and returns the
// CSRF token and the session token the response set, if any.
func (e *env) csrfToken(tokens ...string) (csrf, tok string) {
	e.t.Helper()
	rec := e.do(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(session.CSRFToken(r)))
	}, e.req("GET", "/form", tokens...))
	if c := sessionCookie(e.t, rec, e.cookie); c != nil {
		tok = c.Value
	}
	return rec.Body.String(), tok
}

// post sends a form post with the CSRF token in a field or a header
// through a CSRFProtection and returns the status.
func (e *env) post(p *session.CSRFProtection, method, field, header string, tokens ...string) int {
	e.t.Helper()
	body := url.Values{}
	if field != "" {
		body.Set(session.CSRFField, field)
	}
	r := e.req(method, "/change", tokens...)
	r.Body = http.NoBody
	if method != "GET" && method != "HEAD" {
		r = withBody(r, body.Encode())
	}
	if header != "" {
		r.Header.Set(session.CSRFHeader, header)
	}
	return e.do(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP, r).Code
}

func withBody(r *http.Request, body string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Body = http.NoBody
	if body != "" {
		r2.Body = readCloser{strings.NewReader(body)}
		r2.ContentLength = int64(len(body))
	}
	r2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r2
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

func TestCSRFProtection(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	csrf, tok := e.csrfToken()
	if tok == "" || csrf == "" {
		t.Fatal("CSRFToken on a request without a session made none")
	}
	again, _ := e.csrfToken(tok)
	if again == csrf {
		t.Fatal("two renderings spell the token alike (no masking)")
	}
	other, otherTok := e.csrfToken()
	p := session.NewCSRFProtection()
	flipped := []byte(csrf)
	flipped[len(flipped)-1] ^= 1
	cases := []struct {
		name                  string
		method, field, header string
		tok                   string
		want                  int
	}{
		{"field", "POST", csrf, "", tok, 200},
		{"header", "PUT", "", again, tok, 200},
		{"other rendering", "POST", again, "", tok, 200},
		{"GET passes", "GET", "", "", tok, 200},
		{"HEAD passes", "HEAD", "", "", tok, 200},
		{"OPTIONS passes", "OPTIONS", "", "", tok, 200},
		{"missing", "POST", "", "", tok, 403},
		{"wrong", "POST", sameLengthGarbage(csrf), "", tok, 403},
		{"flipped", "DELETE", "", string(flipped), tok, 403},
		{"another session's token", "POST", other, "", tok, 403},
		{"token without its session", "POST", csrf, "", "", 403},
		{"token of the other session", "POST", csrf, "", otherTok, 403},
		{"garbage", "POST", "%%%", "", tok, 403},
		{"too long", "POST", csrf + csrf, "", tok, 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tokens []string
			if tc.tok != "" {
				tokens = []string{tc.tok}
			}
			before := len(e.ev.all())
			if got := e.post(p, tc.method, tc.field, tc.header, tokens...); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
			// Every refusal, and nothing else, is an EventCSRFRejected
			// (Warn), which names the session by its fingerprint and
			// holds neither token.
			var rejected []session.Event
			for _, ev := range e.ev.all()[before:] {
				if ev.Kind == session.EventCSRFRejected {
					rejected = append(rejected, ev)
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tc.want == 403]; len(rejected) != want {
				t.Fatalf("%d csrf-rejected events, want %d", len(rejected), want)
			}
			for _, ev := range rejected {
				if !errors.Is(ev.Err, session.ErrCSRF) || ev.Method != tc.method || ev.Path != "/change" ||
					ev.Level() != slog.LevelWarn || (tc.tok != "" && ev.Session == "") {
					t.Errorf("event %+v: want ErrCSRF, the request's method and path, Warn and the session", ev)
				}
				text := fmt.Sprintf("%+v %v", ev, slog.AnyValue(ev))
				for _, secret := range []string{csrf, tok, other, otherTok} {
					if secret != "" && strings.Contains(text, secret) {
						t.Errorf("the event holds a token: %s", text)
					}
				}
			}
		})
	}
}

func sameLengthGarbage(s string) string { return strings.Repeat("A", len(s)) }

func TestCSRFDenyHandlerAndCheck(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	var p session.CSRFProtection // the zero value works
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	_, tok := e.csrfToken()
	if got := e.post(&p, "POST", "", "", tok); got != http.StatusTeapot {
		t.Fatalf("deny handler not used: %d", got)
	}
	r := newBareRequest("POST")
	if err := p.Check(r); !errors.Is(err, session.ErrCSRF) || !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("Check outside the middleware: %v", err)
	}
}

func newBareRequest(method string) *http.Request {
	r, _ := http.NewRequest(method, "http://example.com/", nil)
	return r
}

// TestCSRFTokenRenewedAtLoginAndLogout: a token seen before a sign-in (by
// an anonymous visitor, or planted) is refused after it, even if the
// application names it with Carry; a new one is made; the same holds at
// sign-out.
func TestCSRFTokenRenewedAtLoginAndLogout(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	p := session.NewCSRFProtection()
	anonCSRF, anon := e.csrfToken()
	var inLogin string
	rec := e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := s.Login("alice", session.Carry("\x00sessionguard.csrf")); err != nil {
			t.Fatal(err)
		}
		inLogin = s.CSRFToken()
	}, e.req("POST", "/login", anon))
	signed := e.token(rec)
	if got := e.post(p, "POST", anonCSRF, "", signed); got != 403 {
		t.Fatalf("the anonymous token works after sign-in: %d", got)
	}
	if got := e.post(p, "POST", inLogin, "", signed); got != 200 {
		t.Fatalf("the token made by the sign-in request is refused: %d", got)
	}
	userCSRF, _ := e.csrfToken(signed)
	rec = e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := s.Logout(); err != nil {
			t.Fatal(err)
		}
		_ = s.AddInfo("bye") // a fresh anonymous session (I15)
	}, e.req("POST", "/logout", signed))
	if got := e.post(p, "POST", userCSRF, "", e.token(rec)); got != 403 {
		t.Fatalf("the signed-in token works after sign-out: %d", got)
	}
}

// TestCSRFTokenSurvivesClear: Clear removes values, not the token.
func TestCSRFTokenSurvivesClear(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	csrf, tok := e.csrfToken()
	e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := errors.Join(s.Put("k", "v"), s.Clear()); err != nil {
			t.Fatal(err)
		}
	}, e.req("POST", "/", tok))
	if got := e.post(session.NewCSRFProtection(), "POST", csrf, "", tok); got != 200 {
		t.Fatalf("token refused after Clear: %d", got)
	}
}

// TestCSRFTokenNotReadFromURL: a token in the query string, where logs and
// Referer headers leak it, is not accepted.
func TestCSRFTokenNotReadFromURL(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	csrf, tok := e.csrfToken()
	p := session.NewCSRFProtection()
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		r := withBody(e.req(method, "/change?"+session.CSRFField+"="+url.QueryEscape(csrf), tok), "")
		if got := e.do(p.Handler(http.NotFoundHandler()).ServeHTTP, r).Code; got != http.StatusForbidden {
			t.Errorf("%s with the token in the URL: %d", method, got)
		}
	}
}

// TestI15PutAfterLogoutAnonymous: Logout on a request without a session,
// then Put, still keeps the value.
func TestI15PutAfterLogoutAnonymous(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	rec := e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := errors.Join(s.Logout(), s.Put("k", "v")); err != nil {
			t.Fatal(err)
		}
	}, e.req("POST", "/logout"))
	if got := e.do(whoami, e.req("GET", "/", e.token(rec))).Body.String(); got != "user= k=v" {
		t.Fatalf("got %q", got)
	}
}
