package auditcmd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// deferApp keeps the pre-login ID at sign-in and renews it only on the
// next request that bears it (deferred: an attacker polling wins), or
// renews at the sign-in itself (fixed). It counts the sign-ins: every
// request carrying the password field.
type deferApp struct {
	fixed    bool
	otp      bool // a one-time code is asked for after the password
	mu       sync.Mutex
	sessions map[string]*deferSession
	signIns  int
}

type deferSession struct {
	user    string
	pending bool
}

func newDeferApp(t *testing.T, fixed, otp bool) (*deferApp, string) {
	a := &deferApp{fixed: fixed, otp: otp, sessions: map[string]*deferSession{}}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv.URL
}

func (a *deferApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	set := func(id string) {
		http.SetCookie(w, &http.Cookie{Name: "__Host-sid", Value: id, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	id := ""
	if c, err := r.Cookie("__Host-sid"); err == nil && a.sessions[c.Value] != nil {
		id = c.Value
	}
	if s := a.sessions[id]; s != nil && s.pending {
		delete(a.sessions, id)
		id = rand.Text()
		a.sessions[id] = &deferSession{user: s.user}
		set(id)
	}
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case r.URL.Path == "/login" && r.Method == http.MethodPost:
		if r.PostFormValue("password") != "" {
			a.signIns++
		}
		if r.PostFormValue("username") != "alice" || r.PostFormValue("password") != testPassword {
			fmt.Fprint(w, `<form method="post"><input name="username"><input type="password" name="password"></form>`)
			return
		}
		switch {
		case id == "" || a.fixed:
			delete(a.sessions, id)
			id = rand.Text()
			a.sessions[id] = &deferSession{user: "alice"}
			set(id)
		default:
			a.sessions[id].user, a.sessions[id].pending = "alice", true
		}
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	case r.URL.Path == "/login":
		if id == "" {
			id = rand.Text()
			a.sessions[id] = &deferSession{}
			set(id)
		}
		fmt.Fprint(w, `<form method="post"><input name="username" autocomplete="username"><input type="password" name="password"><button>Sign in</button></form>`)
	case r.URL.Path == "/dashboard" && a.otp && a.sessions[id] != nil && a.sessions[id].user != "":
		fmt.Fprint(w, `<p>Hi alice, enter the code we sent you</p><form method="post" action="/verify"><input name="code" autocomplete="one-time-code" inputmode="numeric"></form>`)
	case r.URL.Path == "/dashboard" && a.sessions[id] != nil && a.sessions[id].user != "":
		fmt.Fprint(w, `<h1>Welcome alice</h1><form method="post" action="/logout"><button>Log out</button></form>`)
	case r.URL.Path == "/dashboard":
		http.Redirect(w, r, "/login", http.StatusFound)
	case r.URL.Path == "/logout" && r.Method == http.MethodPost:
		delete(a.sessions, id)
		http.SetCookie(w, &http.Cookie{Name: "__Host-sid", Path: "/", MaxAge: -1, Secure: true})
		fmt.Fprint(w, "signed out")
	default:
		http.NotFound(w, r)
	}
}

func (a *deferApp) seen() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.signIns
}

// TestSignInsThroughTheCommand: through the command, a deferred renewal
// is found (exit 1) and the fix passes (exit 0); the report's signIns, in
// JSON and text, is what the server counted; a budget too small for the
// fixation checks makes no sign-in at all and exits 2 with a hint.
func TestSignInsThroughTheCommand(t *testing.T) {
	env := func(k string) string { return map[string]string{"SESSIONGUARD_PASSWORD": testPassword}[k] }
	tests := []struct {
		name    string
		fixed   bool
		otp     bool
		args    []string
		exit    int
		verdict string
		stderr  string
	}{
		{"deferred renewal, JSON", false, false, []string{"--format", "json"}, 1, "vulnerable", ""},
		{"renewal at sign-in, JSON", true, false, []string{"--format", "json"}, 0, "no-fixation-found", ""},
		{"renewal at sign-in, text", true, false, []string{"--format", "text"}, 0, "", ""},
		{"budget below the fixation checks", true, false, []string{"--format", "json", "--max-sign-ins", "5"}, 2, "could-not-audit", "raise --max-sign-ins"},
		{"a one-time code after the password", true, true, []string{"--format", "json"}, 2, "could-not-audit", "sign-in not finished: the sign-in stopped at POST /login → 303 → GET /dashboard → 200: it asks for a one-time code"},
		{"a one-time code after the password: the hint", true, true, []string{"--format", "json"}, 2, "could-not-audit", "hint: the sign-in needs a step the audit cannot take"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app, base := newDeferApp(t, tc.fixed, tc.otp)
			var out, errOut bytes.Buffer
			args := append([]string{"--user", "alice", "--samples", "0"}, tc.args...)
			code := Main(context.Background(), append(args, base), &out, &errOut, env)
			if code != tc.exit || !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.exit, errOut.String())
			}
			seen := app.seen()
			if seen > 25 {
				t.Errorf("the server saw %d sign-ins, over the default budget", seen)
			}
			if tc.verdict == "" {
				if want := fmt.Sprintf("sign-ins: %d\n", seen); !strings.Contains(out.String(), want) {
					t.Errorf("text report lacks %q:\n%s", want, out.String())
				}
				return
			}
			var rep struct {
				Verdict string `json:"verdict"`
				SignIns *int   `json:"signIns"`
			}
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("JSON: %v\n%s", err, out.String())
			}
			if rep.Verdict != tc.verdict || rep.SignIns == nil || *rep.SignIns != seen {
				t.Errorf("verdict %s, signIns %v; want %s and the %d sign-ins the server saw", rep.Verdict, rep.SignIns, tc.verdict, seen)
			}
		})
	}
}
