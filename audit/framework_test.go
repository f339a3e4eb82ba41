package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"
)

// tokenGorilla makes values shaped like gorilla/securecookie's:
// base64url("timestamp|value|mac").
func tokenGorilla(r *mrand.Rand) string {
	v := tokenB64(r)
	m := hmac.New(sha256.New, []byte("k"))
	m.Write([]byte(v))
	return base64.URLEncoding.EncodeToString([]byte(fmt.Sprintf("%d|%s|%s", 1764672000, v, m.Sum(nil))))
}

// tokenLaravel makes values shaped like Laravel's encrypted cookies:
// base64 of {"iv":…,"value":…,"mac":…}.
func tokenLaravel(r *mrand.Rand) string {
	b, _ := json.Marshal(map[string]string{"iv": tokenB64(r)[:22], "value": tokenB64(r), "mac": tokenHex(32)(r), "tag": ""})
	return base64.StdEncoding.EncodeToString(b)
}

const (
	werkzeug404 = `<!doctype html>
<html lang=en>
<title>404 Not Found</title>
<h1>Not Found</h1>
<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>`
	whitelabel404 = `<html><body><h1>Whitelabel Error Page</h1><p>This application has no explicit mapping for /error, so you are seeing this as a fallback.</p></body></html>`
)

// frameworkFixtures are applications that show the marks of one framework
// each. Every one runs twice: keeping the pre-login session ID at sign-in
// (vulnerable) and renewing it (fixed).
var frameworkFixtures = []struct {
	id         string
	confidence Confidence
	app        app
	target     Target
	// fix is text the framework's fix carries (the API it names).
	fix string
	// noFixed: the framework has no fixed variant in this form (a signed
	// cookie session cannot be revoked at logout).
	noFixed bool
}{
	{id: "php", confidence: ConfidenceHigh, fix: "session_regenerate_id(true)",
		app: app{cookie: "PHPSESSID", token: tokenBase32Hex(26), headers: map[string]string{"X-Powered-By": "PHP/8.3.4"}}},
	{id: "express", confidence: ConfidenceHigh, fix: "req.session.regenerate",
		app: app{cookie: "connect.sid", signedID: "s:", headers: map[string]string{"X-Powered-By": "Express"},
			notFound: "<!DOCTYPE html>\n<html lang=\"en\"><body><pre>Cannot GET /nope</pre></body></html>", notFoundType: "text/html; charset=utf-8"}},
	{id: "flask-session", confidence: ConfidenceHigh, fix: "app.session_interface.regenerate(session)",
		app: app{cookie: "session", headers: map[string]string{"Server": "Werkzeug/3.0.3 Python/3.12.3"}, notFound: werkzeug404, notFoundType: "text/html; charset=utf-8"}},
	{id: "flask", confidence: ConfidenceHigh, fix: "cannot be revoked at logout", noFixed: true,
		app:    app{cookie: "session", clientSide: true, headers: map[string]string{"Server": "Werkzeug/3.0.3 Python/3.12.3"}, logoutMethod: "GET", logoutLink: true},
		target: Target{CheckPath: "/dashboard"}},
	{id: "django", confidence: ConfidenceHigh, fix: "request.session.cycle_key()",
		app: app{cookie: "sessionid", csrf: "csrftoken", hidden: "csrfmiddlewaretoken", token: tokenAlnum(32)}},
	{id: "servlet", confidence: ConfidenceHigh, fix: "request.changeSessionId()",
		app: app{cookie: "JSESSIONID", token: tokenHexUpper(16), headers: map[string]string{"Server": "Apache-Coyote/1.1"}}},
	{id: "spring-security", confidence: ConfidenceHigh, fix: "sessionFixation((fixation) -> fixation.changeSessionId())",
		app: app{cookie: "JSESSIONID", token: tokenHexUpper(16), hidden: "_csrf", notFound: whitelabel404, notFoundType: "text/html;charset=UTF-8"}},
	{id: "rack", confidence: ConfidenceHigh, fix: "env['rack.session.options'][:renew] = true",
		app: app{cookie: "rack.session"}},
	{id: "rails", confidence: ConfidenceHigh, fix: "reset_session",
		app: app{cookie: "_shop_session", hidden: "authenticity_token", headers: map[string]string{"X-Runtime": "0.012345"}}},
	{id: "laravel", confidence: ConfidenceHigh, fix: "$request->session()->regenerate()",
		app: app{cookie: "shop_session", csrf: "XSRF-TOKEN", hidden: "_token", token: tokenLaravel, headers: map[string]string{"X-Powered-By": "PHP/8.3.4"}}},
	{id: "scs", confidence: ConfidenceMedium, fix: "sessionManager.RenewToken(r.Context())",
		app: app{cookie: "session"}},
	{id: "gorilla", confidence: ConfidenceHigh, fix: "nothing on the server to revoke",
		app: app{cookie: "app-session", token: tokenGorilla}},
	{id: "mojolicious", confidence: ConfidenceHigh, fix: "No fix in Mojolicious's own terms",
		app: app{cookie: "mojolicious", headers: map[string]string{"Server": "Mojolicious (Perl)"}}},
	{id: "sessionguard", confidence: ConfidenceHigh, fix: "sign in with Session.Login",
		app: app{cookie: "__Host-sid", secure: true, httpOnly: true, sameSite: http.SameSiteLaxMode}},
	{id: "go", confidence: ConfidenceLow, fix: "s.Login(user.ID, session.Carry(\"cart\"))",
		app: app{cookie: "sid"}},
	{id: "", fix: "carry over only the values you name",
		app: app{cookie: "sid", notFound: "<!doctype html><h1>Not here</h1>", notFoundType: "text/html"}},
}

// TestFrameworkRecognised audits an application showing each framework's
// marks, vulnerable and fixed: the report names the framework with the
// expected confidence, and a finding carries the fix in its terms (text,
// JSON, SARIF and Markdown) while the fixed variant has no fixation
// finding at all.
func TestFrameworkRecognised(t *testing.T) {
	t.Parallel()
	for _, tc := range frameworkFixtures {
		for _, fixed := range []bool{false, true} {
			if fixed && tc.noFixed {
				continue
			}
			name := tc.id
			if name == "" {
				name = "unknown"
			}
			if fixed {
				name += "/fixed"
			} else {
				name += "/vulnerable"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				cfg := tc.app
				cfg.anonSession = true
				cfg.loginRedirect = "/dashboard"
				if cfg.clientSide {
					cfg.loginRedirect = ""
				}
				cfg.renew = fixed
				srv := newApp(t, cfg)
				tg := auditTarget(srv.URL, tc.target)
				tg.Samples = -1
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				rep, err := Run(ctx, tg)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				fw := rep.Framework
				switch {
				case tc.id == "" && fw != nil:
					t.Fatalf("recognised %+v in an application without marks", *fw)
				case tc.id == "":
				case fw == nil:
					t.Fatalf("framework not recognised, want %s", tc.id)
				case fw.ID != tc.id || fw.Confidence != tc.confidence || len(fw.Evidence) == 0:
					t.Fatalf("framework %+v, want %s with %s confidence", *fw, tc.id, tc.confidence)
				}
				fix, _ := rep.Check(IDFixation)
				var md, js, sarif, text strings.Builder
				if err := WriteMarkdown(&md, rep); err != nil {
					t.Fatal(err)
				}
				_ = WriteJSON(&js, rep)
				_ = WriteSARIF(&sarif, rep)
				_ = WriteText(&text, rep, TextOptions{})
				if fixed {
					if fix.Status != StatusPass || len(fix.Fixes) != 0 {
						t.Errorf("fixed variant: fixation %s with fixes %v", fix.Status, fix.Fixes)
					}
					return
				}
				if !cfg.clientSide && fix.Status != StatusFail {
					t.Fatalf("vulnerable variant: fixation %s: %q", fix.Status, fix.Evidence)
				}
				for format, out := range map[string]string{"markdown": md.String(), "json": js.String(), "sarif": sarif.String(), "text": text.String()} {
					forms := []string{tc.fix}
					switch format {
					case "json", "sarif":
						forms = hiddenForms(tc.fix) // JSON-escaped, with or without HTML escaping
					case "markdown":
						forms = append(forms, mdText(tc.fix)) // in prose, or verbatim in a snippet
					}
					found := false
					for _, f := range forms {
						found = found || strings.Contains(out, f)
					}
					if !found {
						t.Errorf("%s report does not carry the fix %q:\n%s", format, tc.fix, out)
					}
				}
				if fw != nil && !strings.Contains(md.String(), mdText(fw.Name)) {
					t.Errorf("markdown does not name %s", fw.Name)
				}
			})
		}
	}
}

// TestRecogniseSignals pins the recognition rules on signals alone,
// including the marks that must not be enough.
func TestRecogniseSignals(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    signals
		want string
		conf Confidence
	}{
		{"nothing", signals{}, "", ""},
		{"Go 404 alone names no Go library, only Go", signals{notFound: "404 page not found\n", notFoundType: "text/plain; charset=utf-8"}, "go", ConfidenceLow},
		{"sessionguard: __Host-sid with a 256-bit token, stored with its defaults", signals{cookies: map[string]string{"__Host-sid": strings.Repeat("A", 43)}, sessionCookies: []string{"__Host-sid"}, hostSidDefaults: true}, "sessionguard", ConfidenceHigh},
		{"__Host-sid alone", signals{cookies: map[string]string{"__Host-sid": strings.Repeat("A", 43)}, sessionCookies: []string{"__Host-sid"}}, "sessionguard", ConfidenceMedium},
		{"Express header alone", signals{headers: map[string]string{"X-Powered-By": "Express"}}, "express", ConfidenceMedium},
		{"Werkzeug alone: Flask or Flask-Session, low", signals{headers: map[string]string{"Server": "Werkzeug/3.0"}}, "flask", ConfidenceLow},
		{"Flask signed cookie", signals{cookies: map[string]string{"session": "eyJ1c2VyIjoiYWxpY2UifQ.aS4fQA.1nT3bm5NkZl8YBEyW0l_cpqM3tQ"}, sessionCookies: []string{"session"}}, "flask", ConfidenceHigh},
		{"43-character session ID: Flask-Session or scs", signals{cookies: map[string]string{"session": strings.Repeat("A", 43)}, sessionCookies: []string{"session"}}, "flask-session", ConfidenceLow},
		{"Django session without csrftoken", signals{cookies: map[string]string{"sessionid": "x"}}, "django", ConfidenceMedium},
		{"Spring: JSESSIONID and the Whitelabel page", signals{cookies: map[string]string{"JSESSIONID": "x"}, notFound: whitelabel404}, "spring-security", ConfidenceHigh},
		{"Servlet: JSESSIONID alone", signals{cookies: map[string]string{"JSESSIONID": "x"}}, "servlet", ConfidenceHigh},
		{"APP_session without XSRF-TOKEN is not Laravel", signals{cookies: map[string]string{"shop_session": "x"}}, "", ""},
		{"Rails name wins over Laravel's shape", signals{cookies: map[string]string{"_shop_session": "x"}}, "rails", ConfidenceHigh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fw := recognise(tc.s)
			switch {
			case tc.want == "" && fw != nil:
				t.Errorf("recognised %+v", *fw)
			case tc.want != "" && fw == nil:
				t.Errorf("not recognised, want %s", tc.want)
			case fw != nil && (fw.ID != tc.want || fw.Confidence != tc.conf):
				t.Errorf("got %s/%s %q, want %s/%s", fw.ID, fw.Confidence, fw.Evidence, tc.want, tc.conf)
			}
		})
	}
}

// TestFixesCoverEveryFramework: every recognisable framework has a name,
// and every one with its own fix has one for the fixation check.
func TestFixesCoverEveryFramework(t *testing.T) {
	for id, name := range frameworkNames {
		fixes := fixesFor(&Framework{ID: id, Name: name}, IDFixation)
		if len(fixes) == 0 || fixes[0].Text == "" {
			t.Errorf("%s: no fix for fixation", id)
		}
		if _, own := frameworkFixes[id]; own && fixes[0].Framework != name {
			t.Errorf("%s: fix %+v is not in its terms", id, fixes[0])
		}
		for _, f := range fixes {
			if f.Snippet != "" && f.Language == "" {
				t.Errorf("%s: snippet without a language", id)
			}
		}
	}
	for id := range frameworkFixes {
		if frameworkNames[id] == "" {
			t.Errorf("fixes for %s, which has no name", id)
		}
	}
	if got := fixesFor(nil, IDCookieSecure); got != nil {
		t.Errorf("cookie-secure gets framework fixes %v; its remediation stands", got)
	}
}
