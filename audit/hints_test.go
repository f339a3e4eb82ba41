package audit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestErrorsNameTheCause: a 403 on the sign-in is a refusal (CSRF, origin
// check), not a wrong password; a redirect loop is a loop, not an
// unreachable target; a login page cut at the size limit says so.
func TestErrorsNameTheCause(t *testing.T) {
	t.Parallel()
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			http.Redirect(w, r, "/welcome", http.StatusFound)
			return
		}
		http.Redirect(w, r, "/login", http.StatusFound)
	}))
	t.Cleanup(loop.Close)
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<!doctype html><p>"))
		w.Write([]byte(strings.Repeat("padding ", maxBody/8+1)))
		fmt.Fprint(w, `<form method="post"><input name="username"><input type="password" name="password"></form>`)
	}))
	t.Cleanup(huge.Close)
	tests := []struct {
		name    string
		base    string
		app     *app
		wantErr error
		notErr  error
		text    string
	}{
		{name: "403 on the sign-in", app: &app{csrf: "csrftoken", csrfNoField: true, anonSession: true, renew: true, loginRedirect: "/dashboard"},
			wantErr: ErrSignInForbidden, text: "POST /login → 403"},
		{name: "redirect loop", base: loop.URL, wantErr: ErrRedirectLoop, notErr: ErrUnreachable, text: "GET /login → 302 → GET /welcome → 302 → GET /login again"},
		{name: "login page longer than the limit", base: huge.URL, wantErr: ErrNoLoginForm, text: "cut"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := tc.base
			if tc.app != nil {
				base = newApp(t, *tc.app).URL
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := Run(ctx, auditTarget(base, Target{Samples: -1}))
			if !errors.Is(err, tc.wantErr) || tc.notErr != nil && errors.Is(err, tc.notErr) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Run: %v; want %v saying %q", err, tc.wantErr, tc.text)
			}
		})
	}
}

// TestTextReport: -v shows the evidence of passing checks; a Secure cookie
// on a plain-HTTP target passes with the caveat in the table; the
// adopts-unknown-id evidence says a deletion is a deletion.
func TestTextReport(t *testing.T) {
	t.Parallel()
	srv := newApp(t, app{renew: true, deleteUnknown: true, secure: true, httpOnly: true, sameSite: http.SameSiteLaxMode,
		loginRedirect: "/dashboard", logoutMethod: "POST", logoutLink: true})
	rep, err := Run(context.Background(), auditTarget(srv.URL, Target{Samples: -1}))
	if err != nil {
		t.Fatal(err)
	}
	var plain, verbose strings.Builder
	_ = WriteText(&plain, rep, TextOptions{})
	_ = WriteText(&verbose, rep, TextOptions{Verbose: true})
	if !strings.Contains(plain.String(), "but the target is plain HTTP") {
		t.Errorf("no plain-HTTP caveat on cookie-secure:\n%s", plain.String())
	}
	if strings.Contains(plain.String(), "[pass] fixation") || !strings.Contains(verbose.String(), "[pass] fixation") ||
		!strings.Contains(verbose.String(), "the attacker replays sid=") {
		t.Errorf("verbose output lacks passing evidence:\n%s", verbose.String())
	}
	adopt, _ := rep.Check(IDAdoptsUnknownID)
	for _, l := range adopt.Evidence {
		if strings.HasSuffix(l, "()") {
			t.Errorf("evidence ends with (): %q", l)
		}
	}
	if adopt.Status != StatusPass || !strings.Contains(strings.Join(adopt.Evidence, "\n"), "deleted it") {
		t.Errorf("adopts-unknown-id %s: %q", adopt.Status, adopt.Evidence)
	}
}

// TestHints: the hints of a message, Target's and a sign-in driver's, are
// found with their verb and value, and renaming them changes nothing else.
func TestHints(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Hint
		renamed  string
	}{
		{"set", "no way to log out: set Target.LogoutPath", []Hint{{Type: "Target", Field: "LogoutPath", Verb: "set"}},
			"no way to log out: <set Target.LogoutPath>"},
		{"add", "add https://sso.example to Target.AllowOrigins if", []Hint{{Type: "Target", Field: "AllowOrigins", Verb: "add", Value: "https://sso.example"}},
			"<add https://sso.example to Target.AllowOrigins> if"},
		{"driver add and target named", "add https://cdn.example to Driver.AllowLoadFrom or to Target.AllowOrigins",
			[]Hint{{Type: "Driver", Field: "AllowLoadFrom", Verb: "add", Value: "https://cdn.example"}, {Type: "Target", Field: "AllowOrigins"}},
			"<add https://cdn.example to Driver.AllowLoadFrom> or to <Target.AllowOrigins>"},
		{"driver set", "or set Driver.Chrome", []Hint{{Type: "Driver", Field: "Chrome", Verb: "set"}}, "or <set Driver.Chrome>"},
		{"not fields", "a Target.cookie, a Driver.wait, Targets.X, MyDriver.Chrome", nil, "a Target.cookie, a Driver.wait, Targets.X, MyDriver.Chrome"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Hints(tc.in)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("Hints(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if r := RenameHints(tc.in, func(h Hint) string { return "<" + h.String() + ">" }); r != tc.renamed {
				t.Errorf("RenameHints(%q) = %q, want %q", tc.in, r, tc.renamed)
			}
			if r := RenameHints(tc.in, Hint.String); r != tc.in {
				t.Errorf("renaming each hint to itself gives %q", r)
			}
		})
	}
}
