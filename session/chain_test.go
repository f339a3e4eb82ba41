package session_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
)

// Long rotation chains: a grace window many times the rotation period, so
// that a token can be many rotations old and still inside its grace.
var chainRotation = session.RotationConfig{Every: time.Minute, Grace: 30 * time.Minute}

func chainEnv(t testing.TB, st store.Store) (*env, *clock) {
	t.Helper()
	clk := newClock()
	return newEnv(t, st, session.Config{Now: clk.Now, IdleTimeout: time.Hour, Rotation: chainRotation}), clk
}

// buildChain signs alice in with k=v0 and has her browser rotate the token
// n times, a little over a minute apart. It returns every token, oldest
// first: the last one is the head.
func buildChain(t testing.TB, e *env, clk *clock, n int) []string {
	t.Helper()
	toks := []string{e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := s.Login("alice"); err != nil {
			t.Error(err)
		}
		if err := s.Put("k", "v0"); err != nil {
			t.Error(err)
		}
	}, e.req("POST", "/login")))}
	for range n {
		clk.advance(time.Minute + time.Second)
		toks = append(toks, e.token(e.do(whoami, e.req("GET", "/", toks[len(toks)-1]))))
	}
	if got := e.ev.count(session.EventRotated); got != n {
		t.Fatalf("%d rotations, want %d", got, n)
	}
	return toks
}

// authChanges are the ways a chain's session changes authentication state
// (or ends); each is done through the head token. They return the token
// that carries on, or "" when none does.
var authChanges = []struct {
	name string
	do   func(t *testing.T, e *env, head string) string
}{
	{"Renew", func(t *testing.T, e *env, head string) string {
		return e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
			if err := session.From(r).Renew(); err != nil {
				t.Error(err)
			}
			if err := session.From(r).Put("k", "after"); err != nil {
				t.Error(err)
			}
		}, e.req("POST", "/renew", head)))
	}},
	{"RevokeOthers", func(t *testing.T, e *env, head string) string {
		return e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
			if _, err := session.From(r).RevokeOthers(r.Context(), session.EndCredentialsChanged); err != nil {
				t.Error(err)
			}
			if err := session.From(r).Put("k", "after"); err != nil {
				t.Error(err)
			}
		}, e.req("POST", "/password", head)))
	}},
	{"Login", func(t *testing.T, e *env, head string) string {
		return e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
			if err := session.From(r).Login("alice"); err != nil {
				t.Error(err)
			}
			if err := session.From(r).Put("k", "after"); err != nil {
				t.Error(err)
			}
		}, e.req("POST", "/login", head)))
	}},
	{"Logout", func(t *testing.T, e *env, head string) string {
		e.do(logoutHandler, e.req("POST", "/logout", head))
		return ""
	}},
	{"RevokeAll", func(t *testing.T, e *env, head string) string {
		if _, err := e.m.RevokeAll(context.Background(), "alice", session.EndAllSessionsEnded); err != nil {
			t.Fatal(err)
		}
		return ""
	}},
	{"Revoke", func(t *testing.T, e *env, head string) string {
		infos, err := e.m.UserSessions(context.Background(), "alice")
		if err != nil || len(infos) != 1 {
			t.Fatalf("UserSessions: %d, %v", len(infos), err)
		}
		if err := e.m.Revoke(context.Background(), "alice", infos[0].ID); err != nil {
			t.Fatal(err)
		}
		return ""
	}},
}

var chainLengths = []int{1, 4, 5, 10, 25}

// I3: forwarding never crosses a change of authentication state, however
// many rotations old the token is. Every token of the chain, the head
// included, is dead after it and reads nothing written after it.
func TestI3_RotationChainNeverCrossesAuthChange(t *testing.T) {
	for _, change := range authChanges {
		for _, n := range chainLengths {
			t.Run(fmt.Sprintf("%s/chain=%d", change.name, n), func(t *testing.T) {
				e, clk := chainEnv(t, newMem(t))
				checkChainCut(t, e, clk, n, change.do)
			})
		}
	}
}

func checkChainCut(t *testing.T, e *env, clk *clock, n int, change func(*testing.T, *env, string) string) {
	t.Helper()
	toks := buildChain(t, e, clk, n)
	carried := change(t, e, toks[n])
	// Every old token is still inside the grace window of its rotation.
	for i, tok := range toks {
		if body := e.do(whoami, e.req("GET", "/", tok)).Body.String(); body != "user= k=" {
			t.Errorf("token %d of %d (%d rotations old) after the change: %q, want no session", i, n, n-i, body)
		}
		// Nor can it write into the session that carries on.
		e.do(putHandler("k", "from-old"), e.req("GET", "/", tok))
	}
	if carried != "" {
		if body := e.do(whoami, e.req("GET", "/", carried)).Body.String(); body != "user=alice k=after" {
			t.Errorf("the token after the change: %q", body)
		}
	}
	if e.ev.count(session.EventTokenReuse) != 0 {
		t.Errorf("dead tokens inside their grace window raised a reuse alarm")
	}
}

// I11: a client whose token was rotated away less than Grace ago is never
// signed out, however long the chain: it is served the newest record, and
// what it writes lands there.
func TestI11_LongRotationChainWithinGraceServesTheHead(t *testing.T) {
	for _, n := range chainLengths {
		t.Run(fmt.Sprintf("chain=%d", n), func(t *testing.T) {
			e, clk := chainEnv(t, newMem(t))
			checkChainServed(t, e, clk, n)
		})
	}
}

func checkChainServed(t *testing.T, e *env, clk *clock, n int) {
	t.Helper()
	toks := buildChain(t, e, clk, n)
	for i, tok := range toks {
		for try := range 2 { // a retried request is served the same
			if body := e.do(whoami, e.req("GET", "/", tok)).Body.String(); body != "user=alice k=v0" {
				t.Fatalf("token %d of %d, try %d: %q", i, n, try, body)
			}
		}
	}
	e.do(putHandler("k", "via-oldest"), e.req("GET", "/", toks[0]))
	if body := e.do(whoami, e.req("GET", "/", toks[n])).Body.String(); body != "user=alice k=via-oldest" {
		t.Fatalf("head after a write through the oldest token: %q", body)
	}
	if e.ev.count(session.EventTokenReuse)+e.ev.count(session.EventDeadToken) != 0 {
		t.Fatalf("a token inside its grace window was refused: %v", e.ev.all())
	}
	parallelChainClients(t, e, clk, toks)
}

// parallelChainClients has tabs of one browser (sharing its cookie) and
// requests still carrying every old token write at once, while the head
// is due for rotation again: none of them is signed out, and every write
// lands in the session.
func parallelChainClients(t *testing.T, e *env, clk *clock, toks []string) {
	t.Helper()
	clk.advance(time.Minute + time.Second)
	var jar struct {
		sync.Mutex
		tok string
	}
	jar.tok = toks[len(toks)-1]
	var wg sync.WaitGroup
	var keys []string
	start := make(chan struct{})
	for g := range 6 {
		for i := range 5 {
			key := fmt.Sprintf("g%d-%d", g, i)
			keys = append(keys, key)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				tok := toks[(g*5+i)%len(toks)]
				if g%2 == 0 {
					jar.Lock()
					tok = jar.tok
					jar.Unlock()
				}
				rec := e.do(func(w http.ResponseWriter, r *http.Request) {
					s := session.From(r)
					if err := s.Put(key, "x"); err != nil {
						t.Error(err)
					}
					w.Write([]byte("user=" + s.UserID()))
				}, e.req("GET", "/", tok))
				if body := rec.Body.String(); body != "user=alice" {
					t.Errorf("%s with a token inside its grace window: %q", key, body)
				}
				if c := sessionCookie(t, rec, e.cookie); c != nil && g%2 == 0 {
					jar.Lock()
					jar.tok = c.Value
					jar.Unlock()
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	got := e.do(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Join(session.From(r).Keys(), ",")))
	}, e.req("GET", "/", jar.tok)).Body.String()
	for _, k := range keys {
		if !strings.Contains(","+got+",", ","+k+",") {
			t.Errorf("write %s lost; the session holds %s", k, got)
		}
	}
}
