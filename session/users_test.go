package session_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
)

// signIn signs user in from a client with the given user agent.
func (e *env) signIn(user, agent string) string {
	r := e.req("POST", "/login")
	r.Header.Set("User-Agent", agent)
	return e.token(e.do(loginHandler(user), r))
}

func TestUserSessionsListAndRevoke(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	ctx := context.Background()
	laptop := e.signIn("alice", "laptop")
	phone := e.signIn("alice", "phone")
	bob := e.signIn("bob", "bob's")

	var infos []session.Info
	e.do(func(w http.ResponseWriter, r *http.Request) {
		var err error
		if infos, err = session.From(r).Sessions(r.Context()); err != nil {
			t.Fatal(err)
		}
	}, e.req("GET", "/sessions", laptop))
	if len(infos) != 2 {
		t.Fatalf("alice has %d sessions listed, want 2", len(infos))
	}
	var current, other session.Info
	for _, in := range infos {
		if in.Current {
			current = in
		} else {
			other = in
		}
		if in.IP != "192.0.2.1" || in.AuthTime.IsZero() || in.Created.IsZero() {
			t.Errorf("incomplete info %+v", in)
		}
		for _, tok := range []string{laptop, phone, keyOf(laptop), keyOf(phone)} {
			if strings.Contains(in.ID, tok) || strings.Contains(tok, in.ID) {
				t.Fatal("a listing reveals a token or store key")
			}
		}
	}
	if current.UserAgent != "laptop" || other.UserAgent != "phone" {
		t.Fatalf("current %q, other %q", current.UserAgent, other.UserAgent)
	}

	// Another user's ID cannot be used to revoke alice's session.
	if err := e.m.Revoke(ctx, "bob", other.ID); !errors.Is(err, session.ErrUnknownSession) {
		t.Fatalf("bob revoking alice's session: %v", err)
	}
	if err := e.m.Revoke(ctx, "alice", other.ID); err != nil {
		t.Fatal(err)
	}
	if e.user(phone) != "" || e.user(laptop) != "alice" {
		t.Fatal("Revoke ended the wrong session")
	}
	if n, err := e.m.RevokeAll(ctx, "alice", session.EndAllSessionsEnded); err != nil || n != 1 {
		t.Fatalf("RevokeAll: %d, %v", n, err)
	}
	if e.user(laptop) != "" || e.user(bob) != "bob" {
		t.Fatal("RevokeAll ended the wrong sessions")
	}
}

// After a password change the user keeps this session, renewed, and every
// other session ends.
func TestRevokeOthersRenewsCurrent(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	here := e.signIn("alice", "here")
	elsewhere := []string{e.signIn("alice", "a"), e.signIn("alice", "b")}
	var n int
	renewed := e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
		var err error
		if n, err = session.From(r).RevokeOthers(r.Context(), session.EndSignedOutElsewhere); err != nil {
			t.Fatal(err)
		}
	}, e.req("POST", "/account/password", here)))
	if n != 2 {
		t.Fatalf("revoked %d, want 2", n)
	}
	if renewed == here {
		t.Fatal("current session not renewed")
	}
	if e.user(renewed) != "alice" || e.user(here) != "" {
		t.Fatal("current session not carried to the new token")
	}
	for _, tok := range elsewhere {
		if e.user(tok) != "" {
			t.Fatal("another session survived RevokeOthers")
		}
	}
	infos, err := e.m.UserSessions(context.Background(), "alice")
	if err != nil || len(infos) != 1 {
		t.Fatalf("after RevokeOthers: %d sessions, %v", len(infos), err)
	}
}

func TestRequireRecentAuth(t *testing.T) {
	clk := newClock()
	e := newEnv(t, newMem(t), session.Config{Now: clk.Now})
	sensitive := e.m.RequireRecentAuth(5 * time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	do := func(tokens ...string) int {
		rec := e.do(sensitive.ServeHTTP, e.req("POST", "/account/password", tokens...))
		return rec.Code
	}
	if code := do(); code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", code)
	}
	tok := e.signIn("alice", "x")
	if code := do(tok); code != 200 {
		t.Fatalf("fresh sign-in: %d", code)
	}
	clk.advance(4 * time.Minute)
	e.user(tok) // activity does not refresh the sign-in time
	clk.advance(2 * time.Minute)
	if code := do(tok); code != http.StatusUnauthorized {
		t.Fatalf("stale sign-in: %d", code)
	}
	if e.ev.count(session.EventReauthRequired) != 2 {
		t.Fatal("missing reauth-required events")
	}
	// Signing in again (same user) makes it fresh, with a new token.
	tok2 := e.token(e.do(loginHandler("alice"), e.req("POST", "/login", tok)))
	if code := do(tok2); code != 200 {
		t.Fatalf("after re-authentication: %d", code)
	}
	defer func() {
		if recover() == nil {
			t.Error("RequireRecentAuth(0) did not panic")
		}
	}()
	e.m.RequireRecentAuth(0)
}
