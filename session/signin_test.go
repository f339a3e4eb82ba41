package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
)

// signInPaths are the three ways a sign-in writes its record: with no
// cookie (a create), from an anonymous session (a rotation), and from the
// user's own session, which a revocation ended while the sign-in ran.
var signInPaths = []string{"create", "from-anonymous", "own-session-revoked"}

// inFlightSignIn starts a sign-in of alice on e along path and returns once
// its handler has called Login; release lets the handler return, and the
// response arrives on the channel.
func inFlightSignIn(t *testing.T, e *env, path string) (release func(), done <-chan *httptest.ResponseRecorder) {
	t.Helper()
	var tokens []string
	switch path {
	case "from-anonymous":
		tokens = append(tokens, e.token(e.do(putHandler("cart", "1"), e.req("GET", "/"))))
	case "own-session-revoked":
		tokens = append(tokens, e.token(e.do(loginHandler("alice"), e.req("POST", "/login"))))
	}
	called, proceed := make(chan struct{}), make(chan struct{})
	out := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		out <- e.do(func(w http.ResponseWriter, r *http.Request) {
			err := session.From(r).Login("alice")
			close(called)
			<-proceed
			if err != nil {
				http.Error(w, err.Error(), 500)
			}
		}, e.req("POST", "/login", tokens...))
	}()
	<-called
	return func() { close(proceed) }, out
}

// refusal is what the error handler of a manager saw.
type refusal struct {
	mu    sync.Mutex
	err   error
	ended session.EndReason
}

func (f *refusal) handler(w http.ResponseWriter, r *http.Request, err error) {
	f.mu.Lock()
	f.err, f.ended = err, session.From(r).Ended()
	f.mu.Unlock()
	session.DefaultErrorHandler(w, r, err)
}

func (f *refusal) get() (session.EndReason, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ended, f.err
}

// twoInstances returns two managers on one store, b's clock skew off a's:
// two instances of an application, one clock wrong by minutes.
func twoInstances(t *testing.T, skew time.Duration) (a, b *env, clkA *clock, refused *refusal) {
	st := newMem(t)
	clkA, clkB := newClock(), newClock()
	clkB.advance(skew)
	refused = &refusal{}
	a = newEnv(t, st, session.Config{Now: clkA.Now, ErrorHandler: refused.handler})
	b = newEnv(t, st, session.Config{Now: clkB.Now})
	return a, b, clkA, refused
}

// checkRefused fails t unless resp is the refusal of a sign-in overtaken by
// a revocation with reason: 409, no session of alice, the error handler
// given ErrSignInRevoked and Ended() the reason.
func checkRefused(t *testing.T, e *env, resp *httptest.ResponseRecorder, refused *refusal, reason session.EndReason) {
	t.Helper()
	if c := sessionCookie(t, resp, e.cookie); c != nil && c.Value != "" && c.MaxAge >= 0 {
		if u := e.user(c.Value); u != "" {
			t.Fatalf("the sign-in that began before the revocation left a session of %q (status %d)", u, resp.Code)
		}
	}
	if resp.Code != http.StatusConflict {
		t.Errorf("status %d, want 409 from DefaultErrorHandler", resp.Code)
	}
	ended, err := refused.get()
	if !errors.Is(err, session.ErrSignInRevoked) || errors.Is(err, session.ErrStore) {
		t.Errorf("the error handler got %v, want ErrSignInRevoked (and not ErrStore)", err)
	}
	if ended != reason {
		t.Errorf("Ended() = %v in the error handler, want %v", ended, reason)
	}
	if n := e.ev.count(session.EventSignInRevoked); n != 1 {
		t.Errorf("%d sign-in-revoked events, want 1", n)
	}
	if n := e.ev.count(session.EventStoreError); n != 0 {
		t.Errorf("%d store-error events, want 0: nothing failed", n)
	}
	if infos, err := e.m.UserSessions(t.Context(), "alice"); err != nil || len(infos) != 0 {
		t.Errorf("alice has %d sessions (%v), want none", len(infos), err)
	}
}

// TestI11SignInInProgressRefusedAfterRevokeAll: a sign-in whose request
// began before RevokeAll returned (on another instance, whose clock is
// minutes off) leaves no usable session, whatever path its write takes,
// and is told why.
func TestI11SignInInProgressRefusedAfterRevokeAll(t *testing.T) {
	for _, path := range signInPaths {
		for _, skew := range []time.Duration{-7 * time.Minute, 0, 7 * time.Minute} {
			name := path + "/" + skew.String()
			if skew == 0 {
				name = path + "/same-instance"
			}
			t.Run(name, func(t *testing.T) {
				a, b, clkA, refused := twoInstances(t, skew)
				if skew == 0 {
					b = a // the revocation is made by the signing-in instance
				}
				release, done := inFlightSignIn(t, a, path)
				clkA.advance(2 * time.Second) // the password check
				if _, err := b.m.RevokeAll(t.Context(), "alice", session.EndCredentialsChanged); err != nil {
					t.Fatal(err)
				}
				release()
				checkRefused(t, a, <-done, refused, session.EndCredentialsChanged)
			})
		}
	}
}

// TestI11SignInInProgressRefusedAfterRevokeOthers: the same for "sign out
// everywhere else", from a session of the user on the other instance.
func TestI11SignInInProgressRefusedAfterRevokeOthers(t *testing.T) {
	for _, path := range signInPaths {
		for _, skew := range []time.Duration{-7 * time.Minute, 7 * time.Minute} {
			t.Run(path+"/"+skew.String(), func(t *testing.T) {
				a, b, clkA, refused := twoInstances(t, skew)
				victim := b.token(b.do(loginHandler("alice"), b.req("POST", "/login")))
				release, done := inFlightSignIn(t, a, path)
				clkA.advance(2 * time.Second) // the password check
				b.do(func(w http.ResponseWriter, r *http.Request) {
					if _, err := session.From(r).RevokeOthers(r.Context(), session.EndSignedOutElsewhere); err != nil {
						t.Error(err)
					}
				}, b.req("POST", "/password", victim))
				release()
				resp := <-done
				if c := sessionCookie(t, resp, a.cookie); c != nil && c.Value != "" && c.MaxAge >= 0 && a.user(c.Value) != "" {
					t.Fatalf("the sign-in that began before RevokeOthers left a session (status %d)", resp.Code)
				}
				if ended, err := refused.get(); !errors.Is(err, session.ErrSignInRevoked) || ended != session.EndSignedOutElsewhere {
					t.Errorf("error handler: %v, Ended() %v; want ErrSignInRevoked, %v", err, ended, session.EndSignedOutElsewhere)
				}
			})
		}
	}
}

// TestI11SignInAfterRevocationStands: a sign-in whose request began after
// the revocation returned (by more than store.SignInMargin) stands, on
// either instance, however far their clocks are apart; and so does a
// sign-in in the request that revoked.
func TestI11SignInAfterRevocationStands(t *testing.T) {
	for _, skew := range []time.Duration{-7 * time.Minute, 7 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			a, b, _, refused := twoInstances(t, skew)
			// Twice: the first mark, still within the margin, does not
			// refuse the sign-in on b either.
			for range 2 {
				if _, err := b.m.RevokeAll(t.Context(), "alice", session.EndCredentialsChanged); err != nil {
					t.Fatal(err)
				}
			}
			// On the instance that revoked, at once; on the other, once
			// store.SignInMargin has passed.
			tok := b.token(b.do(loginHandler("alice"), b.req("POST", "/login")))
			if u := b.user(tok); u != "alice" {
				t.Errorf("a sign-in at once on the instance that revoked: user %q, want alice", u)
			}
			time.Sleep(store.SignInMargin + 100*time.Millisecond)
			for _, e := range []*env{a, b} {
				tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/login")))
				if u := e.user(tok); u != "alice" {
					t.Errorf("a sign-in after the revocation: user %q, want alice", u)
				}
			}
			if _, err := refused.get(); err != nil {
				t.Errorf("error handler called: %v", err)
			}
		})
	}
	type step func(e *env, r *http.Request) error
	revokeOthers := func(e *env, r *http.Request) error {
		_, err := session.From(r).RevokeOthers(r.Context(), session.EndCredentialsChanged)
		return err
	}
	revokeAll := func(e *env, r *http.Request) error {
		_, err := e.m.RevokeAll(r.Context(), "alice", session.EndCredentialsChanged)
		return err
	}
	login := func(e *env, r *http.Request) error { return session.From(r).Login("alice") }
	for _, c := range []struct {
		name     string
		signedIn bool // the request comes from a session of alice
		steps    []step
	}{
		{"RevokeAll-then-Login", false, []step{revokeAll, login}},
		{"Login-then-RevokeAll", false, []step{login, revokeAll}},
		{"Login-then-RevokeOthers", false, []step{login, revokeOthers}},
		{"RevokeOthers-then-Login", true, []step{revokeOthers, login}},
		{"RevokeOthers-twice", false, []step{login, revokeOthers, revokeOthers}},
	} {
		t.Run("same-request/"+c.name, func(t *testing.T) {
			a, b, _, _ := twoInstances(t, time.Minute)
			other := b.token(b.do(loginHandler("alice"), b.req("POST", "/login")))
			var tokens []string
			if c.signedIn {
				tokens = append(tokens, a.token(a.do(loginHandler("alice"), a.req("POST", "/login"))))
			}
			resp := a.do(func(w http.ResponseWriter, r *http.Request) {
				for _, step := range c.steps {
					if err := step(a, r); err != nil {
						t.Error(err)
					}
				}
			}, a.req("POST", "/reset", tokens...))
			if resp.Code != http.StatusOK {
				t.Fatalf("status %d: %s", resp.Code, resp.Body)
			}
			if u := a.user(a.token(resp)); u != "alice" {
				t.Errorf("the request's own sign-in: user %q, want alice", u)
			}
			if u := b.user(other); u != "" {
				t.Errorf("the other session survived the revocation: user %q", u)
			}
		})
	}
}

// TestI11DoubleSignInAtBoundOneKeepsASession: with MaxSessionsPerUser 1,
// two sign-ins of one user at once (a double-clicked form), whose writes
// both land before either bounds the user's sessions, never leave the user
// without a session.
func TestI11DoubleSignInAtBoundOneKeepsASession(t *testing.T) {
	for round := range 20 {
		clk := newClock()
		bs := &barrierStore{Store: newMem(t)}
		e := newEnv(t, bs, session.Config{Now: clk.Now, MaxSessionsPerUser: 1})
		e.token(e.do(loginHandler("alice"), e.req("POST", "/login")))
		bs.arm(2)
		clk.advance(time.Minute)
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.do(loginHandler("alice"), e.req("POST", "/login"))
			}()
		}
		wg.Wait()
		infos, err := e.m.UserSessions(t.Context(), "alice")
		if err != nil || len(infos) == 0 {
			t.Fatalf("round %d: alice has %d sessions (%v) after two sign-ins at once", round, len(infos), err)
		}
	}
}

// barrierStore holds each sign-in's write, once it is made, until n of
// them are: the writes of concurrent sign-ins then all land before any of
// them goes on.
type barrierStore struct {
	store.Store
	mu      sync.Mutex
	waiting int
	gate    chan struct{}
}

func (b *barrierStore) arm(n int) {
	b.mu.Lock()
	b.waiting, b.gate = n, make(chan struct{})
	b.mu.Unlock()
}

func (b *barrierStore) wait() {
	b.mu.Lock()
	gate := b.gate
	if gate != nil {
		if b.waiting--; b.waiting == 0 {
			close(gate)
			b.gate = nil
		}
	}
	b.mu.Unlock()
	if gate != nil {
		<-gate
	}
}

func (b *barrierStore) SignIn(ctx context.Context, in *store.SignIn) (store.SignedIn, error) {
	out, err := b.Store.SignIn(ctx, in)
	b.wait()
	return out, err
}

// TestI11OwnRevocationDoesNotHideAnother: a sign-in that also signs the
// user out everywhere else stands after its own revocation, but not after
// one made by someone else once its request began, even when its own
// revocation came later and replaced that one's mark.
func TestI11OwnRevocationDoesNotHideAnother(t *testing.T) {
	revokeOthers := func(r *http.Request) {
		if _, err := session.From(r).RevokeOthers(r.Context(), session.EndSignedOutElsewhere); err != nil {
			t.Error(err)
		}
	}
	for _, c := range []struct {
		name          string
		before, after []func(r *http.Request)
	}{
		{"own-after-another", nil, []func(*http.Request){revokeOthers}},
		{"own-before-and-after-another", []func(*http.Request){revokeOthers}, []func(*http.Request){revokeOthers}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b, clkA, refused := twoInstances(t, -3*time.Minute)
			paused, proceed := make(chan struct{}), make(chan struct{})
			done := make(chan *httptest.ResponseRecorder, 1)
			go func() {
				done <- a.do(func(w http.ResponseWriter, r *http.Request) {
					if err := session.From(r).Login("alice"); err != nil {
						t.Error(err)
					}
					for _, f := range c.before {
						f(r)
					}
					close(paused)
					<-proceed
					for _, f := range c.after {
						f(r)
					}
				}, a.req("POST", "/login"))
			}()
			<-paused
			clkA.advance(2 * time.Second) // the request is slow
			if _, err := b.m.RevokeAll(t.Context(), "alice", session.EndCredentialsChanged); err != nil {
				t.Fatal(err)
			}
			close(proceed)
			resp := <-done
			if c := sessionCookie(t, resp, a.cookie); c != nil && c.Value != "" && c.MaxAge >= 0 && a.user(c.Value) != "" {
				t.Fatalf("the sign-in survived a revocation made after its request began (status %d)", resp.Code)
			}
			if _, err := refused.get(); !errors.Is(err, session.ErrSignInRevoked) {
				t.Errorf("error handler: %v, want ErrSignInRevoked", err)
			}
		})
	}
}
