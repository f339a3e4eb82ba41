package session_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
)

func TestI12_RotationGraceThenReuseEndsTheSession(t *testing.T) {
	clk := newClock()
	e := newEnv(t, newMem(t), session.Config{Now: clk.Now, Rotation: session.RotationConfig{Every: 10 * time.Minute, Grace: 30 * time.Second}})
	name := e.cookie
	old := e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).Login("alice")
		session.From(r).Put("k", "v1")
	}, e.req("POST", "/")))

	clk.advance(9 * time.Minute)
	if c := sessionCookie(t, e.do(whoami, e.req("GET", "/", old)), name); c != nil {
		t.Fatal("rotated before RotateEvery")
	}
	clk.advance(2 * time.Minute)
	var authBefore time.Time
	rotated := e.token(e.do(func(w http.ResponseWriter, r *http.Request) { authBefore = session.From(r).AuthTime() }, e.req("GET", "/", old)))
	// That request was the first after RotateEvery: it carried the rotation.
	if e.ev.count(session.EventRotated) != 1 {
		t.Fatalf("%d rotated events, want 1", e.ev.count(session.EventRotated))
	}
	infos, _ := e.m.UserSessions(context.Background(), "alice")
	if len(infos) != 1 {
		t.Fatalf("listing shows %d sessions during the grace window, want 1", len(infos))
	}
	// Find the new token: the next read-only request with the old one is
	// forwarded, and a write through it lands in the new session.
	if body := e.do(whoami, e.req("GET", "/", old)).Body.String(); body != "user=alice k=v1" {
		t.Fatalf("old token in the grace window: %q", body)
	}
	e.do(putHandler("k", "v2"), e.req("GET", "/", old))

	// The store holds the old record, now forwarding, and its successor,
	// which keeps the sign-in.
	rec, err := e.store.ListUser(context.Background(), "alice")
	if err != nil || len(rec) != 2 {
		t.Fatalf("store holds %d records for alice during grace, want old and new", len(rec))
	}
	var succ *store.Record
	for _, r := range rec {
		if r.Successor == "" {
			succ = r
		}
	}
	if succ == nil || !succ.AuthTime.Equal(authBefore) || succ.UserID != "alice" {
		t.Fatalf("successor %+v", succ)
	}
	// The write sent with the old token during the grace window landed in
	// the new session.
	if body := e.do(whoami, e.req("GET", "/", rotated)).Body.String(); body != "user=alice k=v2" {
		t.Fatalf("new token in the grace window: %q", body)
	}
	clk.advance(31 * time.Second)
	// After the grace window the old token means two parties hold the
	// session (I12): it is ended whole, the new token with it.
	var ended session.EndReason
	e.do(func(w http.ResponseWriter, r *http.Request) { ended = session.From(r).Ended() }, e.req("GET", "/", old))
	if ended != session.EndReuse || e.ev.count(session.EventTokenReuse) != 1 {
		t.Fatalf("old token after the grace window: Ended() = %v, %d reuse events", ended, e.ev.count(session.EventTokenReuse))
	}
	if got := e.user(rotated); got != "" {
		t.Fatalf("new token after reuse of the old one: %q, want signed out", got)
	}
}

func TestPeriodicRotationCookieAndForwardedLogout(t *testing.T) {
	clk := newClock()
	e := newEnv(t, newMem(t), session.Config{Now: clk.Now, Rotation: session.RotationConfig{Every: 10 * time.Minute}})
	old := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	clk.advance(11 * time.Minute)
	rec := e.do(putHandler("k", "written-while-rotating"), e.req("GET", "/", old))
	fresh := e.token(rec)
	if fresh == old {
		t.Fatal("no new token")
	}
	if body := e.do(whoami, e.req("GET", "/", fresh)).Body.String(); body != "user=alice k=written-while-rotating" {
		t.Fatalf("new token: %q", body)
	}
	// A logout through the old token during the grace window ends the new
	// session too.
	e.do(logoutHandler, e.req("POST", "/logout", old))
	if e.user(fresh) != "" || e.user(old) != "" {
		t.Fatal("a session survived a logout sent with the rotated token")
	}
}

func TestPeriodicRotationNeverForAnonymousOrPrivilegeChanges(t *testing.T) {
	clk := newClock()
	e := newEnv(t, newMem(t), session.Config{Now: clk.Now, Rotation: session.RotationConfig{Every: 10 * time.Minute}})
	anon := e.token(e.do(putHandler("k", "v"), e.req("GET", "/")))
	clk.advance(11 * time.Minute)
	if c := sessionCookie(t, e.do(whoami, e.req("GET", "/", anon)), e.cookie); c != nil {
		t.Fatal("an anonymous session was rotated")
	}
	// A sign-in after RotateEvery is a normal renewal: the old token dies at
	// once, with no grace.
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/", anon)))
	if e.user(anon) != "" {
		t.Fatal("the pre-login token works after sign-in")
	}
	clk.advance(11 * time.Minute)
	renewed := e.token(e.do(func(w http.ResponseWriter, r *http.Request) { session.From(r).Renew() }, e.req("POST", "/", tok)))
	if e.user(tok) != "" || e.user(renewed) != "alice" {
		t.Fatal("Renew left the old token working")
	}
}

// Rotation racing a logout, or a sign-in as another user: whatever the
// interleaving, no session of the first user survives.
func TestPeriodicRotationRacingLogoutAndUserSwitch(t *testing.T) {
	for _, step := range []string{"logout", "login as bob"} {
		t.Run(step, func(t *testing.T) {
			for round := range 20 {
				clk := newClock()
				e := newEnv(t, newMem(t), session.Config{Now: clk.Now, Rotation: session.RotationConfig{Every: time.Minute}})
				tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
				clk.advance(2 * time.Minute)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range 20 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						switch {
						case i == 10 && step == "logout":
							e.do(logoutHandler, e.req("POST", "/logout", tok))
						case i == 10:
							e.do(loginHandler("bob"), e.req("POST", "/login", tok))
						default:
							e.do(putHandler("k", "x"), e.req("GET", "/", tok))
						}
					}()
				}
				close(start)
				wg.Wait()
				recs, err := e.store.ListUser(context.Background(), "alice")
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range recs {
					if r.Successor == "" {
						t.Fatalf("round %d: a session of alice survived (created %v)", round, r.Created)
					}
				}
				if got := e.user(tok); got == "alice" {
					t.Fatalf("round %d: the old token still signs in as alice", round)
				}
			}
		})
	}
}

func TestRotateConfig(t *testing.T) {
	// A grace window longer than the period is allowed: frequent rotation
	// must not sign clients out by design.
	if _, err := session.New(newMem(t), session.Config{Rotation: session.RotationConfig{Every: 5 * time.Millisecond, Grace: 10 * time.Second}}); err != nil {
		t.Fatalf("grace over the period: %v", err)
	}
	_, err := session.New(newMem(t), session.Config{IdleTimeout: time.Minute, Rotation: session.RotationConfig{Every: time.Second, Grace: 2 * time.Minute}})
	if !errors.Is(err, session.ErrConfig) || !strings.Contains(err.Error(), "Rotation.Grace") {
		t.Fatalf("grace over the idle timeout: %v", err)
	}
}
