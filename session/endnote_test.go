package session_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
)

// jar is the cookies a browser holds for one site, updated from each
// response as a browser would.
type jar map[string]string

func (j jar) update(rec *httptest.ResponseRecorder) {
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(j, c.Name)
			continue
		}
		j[c.Name] = c.Value
	}
}

// visit sends a GET for path with the jar's cookies through e's manager
// and h, and updates the jar.
func (j jar) visit(e *env, path string, h http.HandlerFunc) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	for name, v := range j {
		r.AddCookie(&http.Cookie{Name: name, Value: v})
	}
	rec := e.do(h, r)
	j.update(rec)
	return rec
}

// redirectToLogin is a page that sends a signed-out visitor away without
// asking why.
func redirectToLogin(w http.ResponseWriter, r *http.Request) {
	if !session.From(r).Authenticated() {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	}
}

// endedPage writes what Ended says.
func endedPage(w http.ResponseWriter, r *http.Request) {
	w.Write([]byte(session.From(r).Ended().String()))
}

// TestI15EndedOutlivesRedirect: the reason a session ended is readable on
// the page the dead-cookie request redirects to, once, and not after a
// sign-in.
func TestI15EndedOutlivesRedirect(t *testing.T) {
	cases := []struct {
		name string
		end  func(e *env, clk *clock, user string)
		want session.EndReason
	}{
		{"revoked", func(e *env, _ *clock, user string) {
			if _, err := e.m.RevokeAll(context.Background(), user, session.EndCredentialsChanged); err != nil {
				t.Fatal(err)
			}
		}, session.EndCredentialsChanged},
		{"timeout", func(_ *env, clk *clock, _ string) { clk.advance(31 * time.Minute) }, session.EndTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			e := newEnv(t, newMem(t), session.Config{Now: clk.Now})
			j := jar{}
			j.visit(e, "/login", loginHandler("alice"))
			tc.end(e, clk, "alice")
			if rec := j.visit(e, "/dashboard", redirectToLogin); rec.Code != http.StatusSeeOther {
				t.Fatalf("dashboard: %d", rec.Code)
			}
			if _, ok := j[e.cookie]; ok {
				t.Fatal("the dead cookie was not expired")
			}
			if got := j.visit(e, "/login", endedPage).Body.String(); got != tc.want.String() {
				t.Fatalf("on the sign-in page: %s, want %s", got, tc.want)
			}
			if got := j.visit(e, "/login", endedPage).Body.String(); got != "none" {
				t.Fatalf("read twice: %s", got)
			}
		})
	}
}

// TestI15EndedNoteClearedBySignIn: a note not yet read is gone after a
// sign-in, and a signed-in page never reports it.
func TestI15EndedNoteClearedBySignIn(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	j := jar{}
	j.visit(e, "/login", loginHandler("alice"))
	if _, err := e.m.RevokeAll(context.Background(), "alice", session.EndAllSessionsEnded); err != nil {
		t.Fatal(err)
	}
	j.visit(e, "/dashboard", redirectToLogin)
	note := e.cookie + "-ended"
	if j[note] == "" {
		t.Fatal("no note set")
	}
	j.visit(e, "/login", loginHandler("alice"))
	if _, ok := j[note]; ok {
		t.Fatal("the sign-in left the note")
	}
	if got := j.visit(e, "/", endedPage).Body.String(); got != "none" {
		t.Fatalf("after sign-in: %s", got)
	}
}

// TestI15EndedNoteRefused: notes that are forged, expired, or signed by
// another manager without shared keys are not believed; notes signed with
// shared keys are.
func TestI15EndedNoteRefused(t *testing.T) {
	k, err := session.NewKeys(bytes.Repeat([]byte{7}, session.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		cfg     session.Config
		other   session.Config // the manager that reads the note
		tamper  func(string) string
		advance time.Duration
		want    session.EndReason
	}{
		{"same manager", session.Config{}, session.Config{}, nil, 0, session.EndSignedOutElsewhere},
		{"shared keys", session.Config{Keys: k}, session.Config{Keys: k}, nil, 0, session.EndSignedOutElsewhere},
		{"no shared keys", session.Config{}, session.Config{}, nil, -1, session.EndNone},
		{"tampered", session.Config{}, session.Config{}, func(v string) string { return flipLast(v) }, 0, session.EndNone},
		{"truncated", session.Config{}, session.Config{}, func(v string) string { return v[:len(v)-4] }, 0, session.EndNone},
		{"expired", session.Config{}, session.Config{}, nil, session.EndedNoteTTL, session.EndNone},
		{"just in time", session.Config{}, session.Config{}, nil, session.EndedNoteTTL - time.Second, session.EndSignedOutElsewhere},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			st := newMem(t)
			tc.cfg.Now, tc.other.Now = clk.Now, clk.Now
			e := newEnv(t, st, tc.cfg)
			reader := e
			if tc.other.Keys != nil || tc.advance < 0 {
				reader = newEnv(t, st, tc.other)
			}
			j := jar{}
			j.visit(e, "/login", loginHandler("alice"))
			ids, err := e.m.UserSessions(context.Background(), "alice")
			if err != nil || len(ids) != 1 {
				t.Fatalf("UserSessions: %v, %v", ids, err)
			}
			if err := e.m.Revoke(context.Background(), "alice", ids[0].ID); err != nil {
				t.Fatal(err)
			}
			j.visit(e, "/dashboard", redirectToLogin)
			note := e.cookie + "-ended"
			if tc.tamper != nil {
				j[note] = tc.tamper(j[note])
			}
			if tc.advance > 0 {
				clk.advance(tc.advance)
			}
			if got := j.visit(reader, "/login", endedPage).Body.String(); got != tc.want.String() {
				t.Fatalf("Ended: %s, want %s", got, tc.want)
			}
			if _, ok := j[note]; ok {
				t.Fatal("a note that was read is still set")
			}
		})
	}
}

func flipLast(v string) string {
	b := []byte(v)
	if b[len(b)-1] == 'A' {
		b[len(b)-1] = 'B'
	} else {
		b[len(b)-1] = 'A'
	}
	return string(b)
}

// TestI15EndedNoteOnlyForEndedSessions: invented, malformed and unknown
// tokens get no note, and a flood of them writes nothing to the store.
func TestI15EndedNoteOnlyForEndedSessions(t *testing.T) {
	k, err := session.NewKeys(bytes.Repeat([]byte{9}, session.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []session.Config{{}, {Keys: k}} {
		st := newMem(t)
		cfg.Guessing = session.GuessingConfig{Limit: -1}
		e := newEnv(t, st, cfg)
		tokens := []string{strings.Repeat("A", 43), strings.Repeat("B", 64), "short", strings.Repeat("C", 43) + ";"}
		for i := range 200 {
			rec := e.do(redirectToLogin, e.req("GET", "/dashboard", tokens[i%len(tokens)]))
			for _, c := range rec.Result().Cookies() {
				if strings.HasSuffix(c.Name, "-ended") {
					t.Fatalf("a note for token %d: %v", i%len(tokens), c)
				}
			}
		}
		if n := st.Len(); n != 0 {
			t.Fatalf("the store holds %d records after the flood", n)
		}
	}
}

// TestI7EndedNoteCookieAttributes: the note cookie is set as the session
// cookie is (invariant I7): HttpOnly, Secure, the same SameSite and Path,
// no Domain, and under the __Host- prefix when the session cookie is.
func TestI7EndedNoteCookieAttributes(t *testing.T) {
	for _, cfg := range []session.Config{
		{},
		{Cookie: session.CookieConfig{Name: "app_session", Path: "/app", SameSite: http.SameSiteStrictMode}},
	} {
		clk := newClock()
		cfg.Now = clk.Now
		e := newEnv(t, newMem(t), cfg)
		j := jar{}
		login := j.visit(e, "/app/login", loginHandler("alice"))
		var sess *http.Cookie
		for _, c := range login.Result().Cookies() {
			if c.Name == e.cookie {
				sess = c
			}
		}
		if sess == nil {
			t.Fatal("no session cookie at sign-in")
		}
		clk.advance(31 * time.Minute)
		rec := j.visit(e, "/app/dashboard", redirectToLogin)
		var note *http.Cookie
		for _, c := range rec.Result().Cookies() {
			if strings.HasSuffix(c.Name, "-ended") {
				note = c
			}
		}
		switch {
		case note == nil:
			t.Fatalf("%s: no note cookie for a timed-out session", e.cookie)
		case !note.HttpOnly || !note.Secure || note.SameSite != sess.SameSite || note.Path != sess.Path || note.Domain != "" || note.MaxAge <= 0:
			t.Errorf("%s: note cookie %s; the session cookie was %s", e.cookie, note, sess)
		case strings.HasPrefix(sess.Name, "__Host-") != strings.HasPrefix(note.Name, "__Host-"):
			t.Errorf("note cookie %q beside session cookie %q: not the same prefix", note.Name, sess.Name)
		}
	}
}
