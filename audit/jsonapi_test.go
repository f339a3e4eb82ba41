package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// apiApp is a single-page application signing in through a JSON API.
type apiApp struct {
	user, password string
	// csrf: "" none; "meta" a token per session in <meta name="csrf-token">,
	// expected back in header; "double" an XSRF-TOKEN cookie expected back
	// in X-XSRF-TOKEN.
	csrf   string
	header string // the header the meta token is read from; default X-CSRF-Token
	// vulnerable keeps the session ID across sign-in and adopts unknown IDs.
	vulnerable bool
	// spaForm serves the login form as a script that builds it, for the
	// browser sign-in, which posts the form (no JSON API).
	spaForm bool
	// echo sends the submitted password back in the sign-in's answer and
	// in a header, as a careless API might.
	echo bool
}

type apiServer struct {
	*httptest.Server
	mu       sync.Mutex
	sessions map[string]*apiSession
	bodies   []string // every request line and body, to look for leaks
}

type apiSession struct{ user, csrf string }

func randHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newAPIApp(t *testing.T, cfg apiApp) *apiServer {
	t.Helper()
	if cfg.user == "" {
		cfg.user, cfg.password = testUser, testPassword
	}
	if cfg.header == "" {
		cfg.header = "X-CSRF-Token"
	}
	s := &apiServer{sessions: map[string]*apiSession{}}
	setSID := func(w http.ResponseWriter, id string) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	// session returns the request's session, creating one (or adopting an
	// unknown ID, when vulnerable).
	session := func(w http.ResponseWriter, r *http.Request, create bool) (string, *apiSession) {
		if c, err := r.Cookie("sid"); err == nil {
			if ss := s.sessions[c.Value]; ss != nil {
				return c.Value, ss
			}
			if cfg.vulnerable && create {
				ss := &apiSession{csrf: randHex()}
				s.sessions[c.Value] = ss
				return c.Value, ss
			}
		}
		if !create {
			return "", nil
		}
		id := randHex()
		ss := &apiSession{csrf: randHex()}
		s.sessions[id] = ss
		setSID(w, id)
		return id, ss
	}
	csrfOK := func(r *http.Request, ss *apiSession) bool {
		switch cfg.csrf {
		case "meta":
			return ss != nil && r.Header.Get(cfg.header) == ss.csrf
		case "double":
			c, err := r.Cookie("XSRF-TOKEN")
			return err == nil && c.Value != "" && r.Header.Get("X-XSRF-TOKEN") == c.Value
		}
		return true
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		var body strings.Builder
		if r.Body != nil {
			buf := make([]byte, 1<<16)
			n, _ := r.Body.Read(buf)
			body.Write(buf[:n])
		}
		s.bodies = append(s.bodies, r.Method+" "+r.RequestURI+" "+body.String())
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/login":
			_, ss := session(w, r, true)
			if cfg.csrf == "double" {
				http.SetCookie(w, &http.Cookie{Name: "XSRF-TOKEN", Value: randHex(), Path: "/"})
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			meta := ""
			if cfg.csrf == "meta" {
				meta = `<meta name="csrf-token" content="` + ss.csrf + `">`
			}
			if cfg.spaForm {
				fmt.Fprintf(w, `<!doctype html><html><head>%s<title>Sign in</title></head><body><div id="app">Loading…</div>
<script>
setTimeout(function () {
  var f = document.createElement('form'); f.method = 'post'; f.action = '/session';
  f.innerHTML = '<input name="login" autocomplete="username"><input type="password" name="secret"><button type="submit">Sign in</button>';
  document.getElementById('app').replaceChildren(f);
}, 200);
</script></body></html>`, meta)
				return
			}
			fmt.Fprintf(w, `<!doctype html><html><head>%s<title>Sign in</title></head><body><div id="app"></div><script src="/app.js"></script></body></html>`, meta)
		case r.Method == http.MethodPost && (r.URL.Path == "/api/login" || r.URL.Path == "/session"):
			id, ss := session(w, r, false)
			if !csrfOK(r, ss) {
				http.Error(w, `{"error":"CSRF token missing or wrong"}`, http.StatusForbidden)
				return
			}
			var user, pass string
			if r.URL.Path == "/session" {
				q, _ := parseQuery(body.String())
				user, pass = q["login"], q["secret"]
			} else {
				var creds map[string]string
				if err := json.Unmarshal([]byte(body.String()), &creds); err != nil || r.Header.Get("Content-Type") != "application/json" {
					http.Error(w, `{"error":"want a JSON body"}`, http.StatusBadRequest)
					return
				}
				user, pass = creds["username"], creds["password"]
			}
			if cfg.echo {
				w.Header().Set("X-Debug-Password", pass)
			}
			if user != cfg.user || pass != cfg.password {
				w.Header().Set("Content-Type", "application/json")
				if cfg.echo {
					w.WriteHeader(http.StatusUnauthorized)
					b, _ := json.Marshal(map[string]string{"error": "bad credentials", "password": pass})
					w.Write(b)
					return
				}
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"error":"bad credentials"}`))
				return
			}
			if ss == nil || !cfg.vulnerable {
				if ss != nil {
					delete(s.sessions, id)
				}
				id = randHex()
				ss = &apiSession{csrf: randHexOr(ss)}
				s.sessions[id] = ss
				setSID(w, id)
			}
			ss.user = user
			if r.URL.Path == "/session" {
				http.Redirect(w, r, "/home", http.StatusSeeOther)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true}`))
		case r.Method == http.MethodGet && (r.URL.Path == "/api/me" || r.URL.Path == "/home"):
			_, ss := session(w, r, false)
			w.Header().Set("Content-Type", "application/json")
			if ss == nil || ss.user == "" {
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"error":"not signed in"}`))
				return
			}
			fmt.Fprintf(w, `{"user":%q}`, ss.user)
		case r.Method == http.MethodPost && r.URL.Path == "/api/logout":
			id, ss := session(w, r, false)
			if !csrfOK(r, ss) {
				http.Error(w, `{"error":"CSRF token missing or wrong"}`, http.StatusForbidden)
				return
			}
			delete(s.sessions, id)
			http.SetCookie(w, &http.Cookie{Name: "sid", Path: "/", MaxAge: -1})
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// randHexOr keeps a session's CSRF token across a renewal.
func randHexOr(ss *apiSession) string {
	if ss != nil {
		return ss.csrf
	}
	return randHex()
}

func parseQuery(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, "&") {
		k, v, _ := strings.Cut(kv, "=")
		k, err := urlUnescape(k)
		if err != nil {
			return nil, err
		}
		if v, err = urlUnescape(v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// TestJSONSignIn: JSON-API sign-ins (plain, meta-tag CSRF, double-submit
// cookie), each vulnerable and fixed, give the right verdicts; the
// checks that need a form are skipped with the reason, and the password
// appears in no output and no URL.
func TestJSONSignIn(t *testing.T) {
	t.Parallel()
	for _, csrf := range []string{"", "meta", "double"} {
		for _, vuln := range []bool{true, false} {
			t.Run(fmt.Sprintf("csrf=%q/vulnerable=%v", csrf, vuln), func(t *testing.T) {
				t.Parallel()
				srv := newAPIApp(t, apiApp{csrf: csrf, vulnerable: vuln, user: testUser, password: secretPassword})
				tg := Target{BaseURL: srv.URL, User: testUser, Password: secretPassword, LoginJSONPath: "/api/login",
					CheckPath: "/api/me", LogoutPath: "/api/logout", LogoutMethod: "POST", Samples: -1}
				rep, err := Run(context.Background(), tg)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				want := map[string]Status{IDFixation: StatusPass, IDAdoptsUnknownID: StatusPass, IDLogoutInvalidation: StatusPass,
					IDFixationURL: StatusSkip, IDLoginCSRF: StatusSkip}
				if vuln {
					want[IDFixation], want[IDAdoptsUnknownID] = StatusFail, StatusFail
				}
				for id, st := range want {
					c, _ := rep.Check(id)
					if c.Status != st {
						t.Errorf("%s: %s, want %s: %q", id, c.Status, st, c.Evidence)
					}
					if st == StatusSkip && !strings.Contains(strings.Join(c.Evidence, " "), "Target.LoginJSONPath") {
						t.Errorf("%s skipped without the reason: %q", id, c.Evidence)
					}
				}
				wantVerdict, wantExit := VerdictNoFixationFound, 0
				if vuln {
					wantVerdict, wantExit = VerdictVulnerable, 1
				}
				if rep.Verdict != wantVerdict || rep.ExitCode(SeverityHigh) != wantExit {
					t.Errorf("verdict %s (%s), exit %d; want %s, exit %d", rep.Verdict, rep.Summary, rep.ExitCode(SeverityHigh), wantVerdict, wantExit)
				}
				if rep.SessionsLeftOpen != 0 {
					t.Errorf("%d of %d sessions left open; warnings %q", rep.SessionsLeftOpen, rep.SessionsCreated, rep.Warnings)
				}
				for name, out := range outputs(t, rep, "", err) {
					if l := leaks(out, secretPassword); len(l) > 0 {
						t.Errorf("%s output shows the password as %q", name, l)
					}
				}
				srv.mu.Lock()
				defer srv.mu.Unlock()
				for _, b := range srv.bodies {
					line, _, _ := strings.Cut(b, " {")
					if l := leaks(line, secretPassword); len(l) > 0 {
						t.Errorf("the password reached a URL: %s", line)
					}
				}
			})
		}
	}
}

// TestJSONSignInCSRFHeader: a meta-tag token read from a header of the
// application's own choosing is found only with --csrf-header; without
// it the sign-in is refused and the audit says it could not audit.
func TestJSONSignInCSRFHeader(t *testing.T) {
	t.Parallel()
	srv := newAPIApp(t, apiApp{csrf: "meta", header: "X-App-Csrf"})
	tg := Target{BaseURL: srv.URL, User: testUser, Password: testPassword, LoginJSONPath: "/api/login",
		CheckPath: "/api/me", LogoutPath: "/api/logout", LogoutMethod: "POST", Samples: -1}
	rep, err := Run(context.Background(), tg)
	if err == nil || rep.Verdict != VerdictCouldNotAudit {
		t.Fatalf("without --csrf-header: err %v, verdict %s; want could not audit", err, rep.Verdict)
	}
	tg.CSRFHeader = "X-App-Csrf"
	rep, err = Run(context.Background(), tg)
	if err != nil {
		t.Fatalf("with --csrf-header: %v", err)
	}
	if c, _ := rep.Check(IDFixation); c.Status != StatusPass {
		t.Errorf("fixation %s: %q", c.Status, c.Evidence)
	}
}

// TestJSONSignInNeedsCheck: a JSON sign-in has no landing page to check.
func TestJSONSignInNeedsCheck(t *testing.T) {
	t.Parallel()
	err := Target{BaseURL: "http://127.0.0.1:1", User: "u", Password: "p", LoginJSONPath: "/api/login"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "Target.CheckPath") {
		t.Errorf("Validate: %v, want an error naming Target.CheckPath", err)
	}
}

func urlUnescape(s string) (string, error) { return url.QueryUnescape(s) }
