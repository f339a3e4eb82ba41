package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// secretPassword has what breaks naive redaction: a space, &, ", <, and
// non-ASCII characters, so that its raw, URL, HTML and JSON forms differ.
const secretPassword = `s3cr et&"<pässwörd>€'`

// hiddenForms lists the common ways a secret can appear in an output: as
// given, URL-encoded (query and path), HTML-escaped and JSON-escaped. The
// tests look for them; hostile_test.go has the full list of encodings.
func hiddenForms(v string) []string {
	if v == "" {
		return nil
	}
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v), html.EscapeString(v),
		strings.NewReplacer(`"`, "&quot;", "'", "&apos;").Replace(html.EscapeString(v))}
	for _, escapeHTML := range []bool{true, false} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		if enc.Encode(v) == nil {
			forms = append(forms, strings.TrimSuffix(strings.TrimSuffix(b.String(), "\n"), `"`)[1:])
		}
	}
	var out []string
	for _, f := range forms {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	// Longest first, so that an encoding containing another is hidden whole.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// leaks reports which encodings of secret appear in s.
func leaks(s, secret string) []string {
	var found []string
	// Markdown prose escapes, and diagrams encode, what they show.
	var forms []string
	for _, f := range hiddenForms(secret) {
		forms = append(forms, f, mdText(f), mermaidText(f))
	}
	for _, f := range forms {
		if strings.Contains(s, f) {
			found = append(found, f)
		}
	}
	return found
}

// outputs renders rep in every format, with the progress lines and the
// error, as everything a user of the audit could see.
func outputs(t *testing.T, rep *Report, progress string, err error) map[string]string {
	t.Helper()
	out := map[string]string{"progress": progress}
	if err != nil {
		out["error"] = err.Error()
	}
	for _, f := range []string{"text", "text-v", "json", "sarif", "markdown"} {
		var b strings.Builder
		var werr error
		switch f {
		case "text":
			werr = WriteText(&b, rep, TextOptions{})
		case "text-v":
			werr = WriteText(&b, rep, TextOptions{Verbose: true})
		case "json":
			werr = WriteJSON(&b, rep)
		case "sarif":
			werr = WriteSARIF(&b, rep)
		case "markdown":
			werr = WriteMarkdown(&b, rep)
		}
		if werr != nil {
			t.Fatal(werr)
		}
		out[f] = b.String()
	}
	return out
}

// recorder is a server that only records what reaches it.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_ = req.ParseForm()
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Method+" "+req.RequestURI+" "+req.PostForm.Encode())
		r.mu.Unlock()
		http.Error(w, "nothing here", http.StatusNotFound)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

// hostileCases are fixtures built to make the auditor misbehave with the
// credentials. Each gets the secret password.
func hostileCases(t *testing.T, evil string) []struct {
	name    string
	app     app
	target  Target
	wantErr error
} {
	return []struct {
		name    string
		app     app
		target  Target
		wantErr error
	}{
		{name: "form without method (GET)", app: app{anonSession: true, renew: true, getForm: true, loginRedirect: "/dashboard"},
			wantErr: ErrUnsafeSignIn},
		{name: "form without method, --allow-password-in-url", app: app{anonSession: true, renew: true, getForm: true, loginRedirect: "/dashboard"},
			target: Target{AllowPasswordInURL: true}},
		{name: "form without method, --allow-password-in-url, connection dropped on sign-in",
			app:    app{anonSession: true, renew: true, getForm: true, dropSignIn: true, loginRedirect: "/dashboard"},
			target: Target{AllowPasswordInURL: true}, wantErr: ErrUnreachable},
		{name: "form posting to another origin", app: app{anonSession: true, renew: true, formAction: evil + "/login", loginRedirect: "/dashboard"},
			wantErr: ErrUnsafeSignIn},
		{name: "wrong password", app: app{anonSession: true, renew: true, loginRedirect: "/dashboard"},
			target: Target{Password: secretPassword + "x"}, wantErr: ErrSignIn},
		// The password comes back in a framework header and in the redirect
		// after sign-in, which the hijack diagrams of the Markdown report
		// show.
		{name: "password echoed in a header and the sign-in redirect of a vulnerable app",
			app: app{anonSession: true, adopt: true, urlParam: "session", urlAdopted: true, headers: map[string]string{"X-Powered-By": "PHP/8 " + secretPassword},
				loginRedirect: "/dashboard?echo=" + url.QueryEscape(secretPassword)}},
	}
}

// TestPasswordInURLRefused: a login form sent by GET is not submitted
// (the password would be in the URL) unless allowed, and then the report
// says so loudly.
func TestPasswordInURLRefused(t *testing.T) {
	t.Parallel()
	cfg := app{anonSession: true, renew: true, getForm: true, loginRedirect: "/dashboard", password: secretPassword, user: testUser}
	srv := newApp(t, cfg)
	tg := Target{BaseURL: srv.URL, User: testUser, Password: secretPassword, Samples: -1}
	rep, err := Run(context.Background(), tg)
	if !errors.Is(err, ErrUnsafeSignIn) || !strings.Contains(err.Error(), "Target.AllowPasswordInURL") {
		t.Fatalf("Run error %v, want ErrUnsafeSignIn naming Target.AllowPasswordInURL", err)
	}
	if rep.ExitCode(SeverityHigh) != 2 {
		t.Errorf("exit %d, want 2", rep.ExitCode(SeverityHigh))
	}
	srv.mu.Lock()
	for _, u := range srv.uris {
		if strings.Contains(u, "password") {
			t.Errorf("the password reached a URL: %s", u)
		}
	}
	srv.mu.Unlock()

	tg.AllowPasswordInURL = true
	rep, err = Run(context.Background(), tg)
	if err != nil {
		t.Fatalf("with AllowPasswordInURL: %v", err)
	}
	if len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "password in the URL") {
		t.Errorf("warnings %q", rep.Warnings)
	}
	var b strings.Builder
	_ = WriteText(&b, rep, TextOptions{})
	if !strings.Contains(b.String(), "WARNING: Target.AllowPasswordInURL") {
		t.Errorf("text report does not carry the warning:\n%s", b.String())
	}
}

// TestOtherOriginRefused: credentials never go to an origin other than the
// login page's, neither through the form's action nor through a 307/308
// redirect repeating the POST, unless that origin is allowed.
func TestOtherOriginRefused(t *testing.T) {
	t.Parallel()
	evil := newRecorder(t)
	evilOrigin := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)

	// The form's action is on another origin.
	srv := newApp(t, app{anonSession: true, renew: true, formAction: evilOrigin + "/collect", loginRedirect: "/dashboard"})
	rep, err := Run(context.Background(), Target{BaseURL: srv.URL, User: testUser, Password: testPassword, Samples: -1})
	if !errors.Is(err, ErrUnsafeSignIn) || !strings.Contains(err.Error(), evilOrigin) || !strings.Contains(err.Error(), "add "+evilOrigin+" to Target.AllowOrigins") {
		t.Fatalf("Run error %v, want ErrUnsafeSignIn naming %s", err, evilOrigin)
	}
	if !strings.Contains(rep.Summary, evilOrigin) {
		t.Errorf("summary %q does not name %s", rep.Summary, evilOrigin)
	}
	if got := evil.requests(); len(got) != 0 {
		t.Errorf("the other origin received %q", got)
	}

	// Allowed: the credentials go there (and the sign-in fails there).
	_, err = Run(context.Background(), Target{BaseURL: srv.URL, User: testUser, Password: testPassword, Samples: -1, AllowOrigins: []string{evilOrigin}})
	if errors.Is(err, ErrUnsafeSignIn) {
		t.Errorf("allowed origin refused: %v", err)
	}
	if got := evil.requests(); len(got) == 0 || !strings.HasPrefix(got[0], "POST /collect") {
		t.Errorf("allowed origin got %q, want the POST", got)
	}

	// A 307 from the login POST to another origin would repeat the body.
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			http.Redirect(w, r, evil.URL+"/again", http.StatusTemporaryRedirect)
			return
		}
		w.Write([]byte(`<form method="post"><input name="username"><input type="password" name="password"></form>`))
	}))
	defer redirector.Close()
	before := len(evil.requests())
	_, err = Run(context.Background(), Target{BaseURL: redirector.URL, User: testUser, Password: testPassword, Samples: -1})
	if !errors.Is(err, ErrUnsafeSignIn) || !strings.Contains(err.Error(), "307") {
		t.Errorf("307 to another origin: %v, want ErrUnsafeSignIn", err)
	}
	if got := evil.requests(); len(got) != before {
		t.Errorf("the 307 target received %q", got[before:])
	}
}

// TestHeaderCookieRefused: the audit owns the cookie jars.
func TestHeaderCookieRefused(t *testing.T) {
	err := Target{BaseURL: "http://127.0.0.1/", User: "u", Password: "p", Header: http.Header{"Cookie": {"sid=x"}}}.Validate()
	if !errors.Is(err, ErrBadTarget) || !strings.Contains(err.Error(), "cookie jars") {
		t.Errorf("Validate: %v", err)
	}
}

// TestNoSecretInAnyOutput runs every fixture with a password full of
// characters that encode differently, plus a secret header, and fails if
// the password or the header value appears in any output, raw or in its
// URL, HTML or JSON encoding.
func TestNoSecretInAnyOutput(t *testing.T) {
	t.Parallel()
	evil := newRecorder(t)
	const headerSecret = `Bearer tök"en&<42>`
	type run struct {
		name   string
		app    app
		target Target
	}
	var runs []run
	for _, tc := range frameworkCases {
		runs = append(runs, run{tc.name, tc.app, tc.target})
	}
	for _, tc := range hostileCases(t, evil.URL) {
		runs = append(runs, run{tc.name, tc.app, tc.target})
	}
	// The odd fixtures of the other tests.
	base := app{anonSession: true, renew: true, httpOnly: true, loginRedirect: "/dashboard", logoutMethod: "POST", logoutLink: true}
	odd := func(name string, f func(*app), tg Target) {
		a := base
		f(&a)
		runs = append(runs, run{name, a, tg})
	}
	odd("failure page shows the user name", func(a *app) { a.failShowsUser = true }, Target{})
	odd("failure page shows the user name, --expect", func(a *app) { a.failShowsUser = true }, Target{Expect: "Welcome alice"})
	odd("Servlet FORM authentication", func(a *app) {
		a.formAuth, a.userField, a.passField, a.formAction = true, "j_username", "j_password", "j_security_check"
	}, Target{LoginPath: "/dashboard", CheckPath: "/dashboard"})
	odd("sign-ins limited, Retry-After beyond the budget", func(a *app) {
		a.renew, a.keepURLID, a.urlParam = true, true, "PHPSESSID"
		a.signInLimit, a.signInWindow, a.retryAfter = 5, time.Minute, "60"
	}, Target{})
	odd("403 to the planted ID", func(a *app) { a.forbidUnknown = true }, Target{})
	odd("decoy cookies", func(a *app) { a.decoys, a.secure = true, true }, Target{})
	odd("persistent cookie", func(a *app) { a.maxAge = 3600 }, Target{})
	odd("Domain attribute", func(a *app) { a.domain = "127.0.0.1" }, Target{})
	odd("companion cookie", func(a *app) { a.renew, a.companion = false, "user" }, Target{})
	odd("15 extra cookies", func(a *app) { a.extraCookies = 15 }, Target{})
	odd("403 on the sign-in", func(a *app) { a.csrf, a.csrfNoField = "csrftoken", true }, Target{})
	odd("unknown ID deleted", func(a *app) { a.anonSession, a.deleteUnknown = false, true }, Target{})
	odd("no way to log out", func(a *app) { a.logoutMethod = "" }, Target{})
	odd("tokens from sign-ins", func(a *app) { a.anonSession = false }, Target{Samples: 20})
	odd("connection dropped on sign-in", func(a *app) { a.dropSignIn = true }, Target{})
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			cfg := r.app
			cfg.password = secretPassword
			cfg.user = testUser
			if r.target.User != "" {
				cfg.user = r.target.User
			}
			srv := newApp(t, cfg)
			tg := r.target
			tg.BaseURL = srv.URL
			if tg.User == "" {
				tg.User = testUser
			}
			if tg.Password == "" {
				tg.Password = secretPassword
			}
			if tg.Samples == 0 {
				tg.Samples = -1
			}
			tg.Header = http.Header{"X-Api-Key": {headerSecret}}
			var progress strings.Builder
			tg.Progress = &progress
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rep, err := Run(ctx, tg)
			for name, s := range outputs(t, rep, progress.String(), err) {
				for _, secret := range []string{secretPassword, headerSecret} {
					if l := leaks(s, secret); len(l) > 0 {
						t.Errorf("%s output holds a secret as %q:\n%s", name, l, s)
					}
				}
			}
		})
	}
}

// TestJSONSignInSecrets: a JSON API that echoes the password (in its
// answer, in a header, in a failed sign-in's message) gets it shown in no
// output, whether the audit completes or cannot sign in; and the password
// is never in a URL.
func TestJSONSignInSecrets(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{secretPassword, secretPassword + "x"} {
		srv := newAPIApp(t, apiApp{echo: true, csrf: "double", vulnerable: true, user: testUser, password: secretPassword})
		rep, err := Run(context.Background(), Target{BaseURL: srv.URL, User: testUser, Password: pw, LoginJSONPath: "/api/login",
			CheckPath: "/api/me", LogoutPath: "/api/logout", LogoutMethod: "POST", Samples: -1})
		if pw != secretPassword && !errors.Is(err, ErrSignIn) {
			t.Errorf("wrong password: %v, want ErrSignIn", err)
		}
		if pw == secretPassword && err != nil {
			t.Errorf("Run: %v", err)
		}
		for name, out := range outputs(t, rep, "", err) {
			if l := leaks(out, pw); len(l) > 0 {
				t.Errorf("%s output shows the password as %q", name, l)
			}
		}
		srv.mu.Lock()
		for _, b := range srv.bodies {
			line, _, _ := strings.Cut(b, " {")
			if l := leaks(line, pw); len(l) > 0 {
				t.Errorf("the password reached a URL: %s", line)
			}
		}
		srv.mu.Unlock()
	}
}

// TestJSONSignInRules: a JSON sign-in answered with a 307 to another
// origin is not repeated there, and one answered 503 is an error, never a
// failed (or passed) check.
func TestJSONSignInRules(t *testing.T) {
	t.Parallel()
	evil := newRecorder(t)
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request)
		want   error
	}{
		{"307 to another origin", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, evil.URL+"/collect", http.StatusTemporaryRedirect)
		}, ErrUnsafeSignIn},
		{"503", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "120")
			http.Error(w, "down", http.StatusServiceUnavailable)
		}, ErrRefused},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/login" {
				tc.answer(w, r)
				return
			}
			http.NotFound(w, r)
		}))
		rep, err := Run(context.Background(), Target{BaseURL: srv.URL, User: testUser, Password: secretPassword,
			LoginJSONPath: "/api/login", CheckPath: "/api/me", Samples: -1})
		srv.Close()
		if !errors.Is(err, tc.want) || rep.Verdict != VerdictCouldNotAudit {
			t.Errorf("%s: %v (verdict %s), want %v and could not audit", tc.name, err, rep.Verdict, tc.want)
		}
	}
	if got := evil.requests(); len(got) != 0 {
		t.Errorf("the other origin received %q", got)
	}
}
