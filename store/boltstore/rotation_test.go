package boltstore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/session/sessiontest"
	"github.com/sessionguard/sessionguard/store/boltstore"
)

// Periodic rotation on a bolt file: long forwarding chains (invariants
// I3, I11) and reuse detection on proof (I12), with the store closed and
// opened again between the steps, as across a restart.

// rotEnv is a Manager over a bolt file, with a settable clock shared by
// the Manager and the store.
type rotEnv struct {
	t    *testing.T
	path string
	clk  *sessiontest.Clock
	rot  session.RotationConfig
	ev   *events
	st   *boltstore.Store
	m    *session.Manager
}

func newRotEnv(t *testing.T, rot session.RotationConfig) *rotEnv {
	e := &rotEnv{t: t, path: filepath.Join(t.TempDir(), "sessions.db"), clk: sessiontest.NewClock(time.Now()), rot: rot, ev: &events{}}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *rotEnv) open() {
	e.t.Helper()
	st, err := boltstore.Open(e.path, boltstore.Options{Now: e.clk.Now, SweepInterval: -1})
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := session.New(st, session.Config{Now: e.clk.Now, IdleTimeout: time.Hour, Rotation: e.rot,
		Cookie: session.CookieConfig{Name: "sid", InsecureWithoutSecure: true}, OnEvent: e.ev.add})
	if err != nil {
		e.t.Fatal(err)
	}
	e.st, e.m = st, m
}

func (e *rotEnv) close() {
	if e.st != nil {
		if err := e.st.Close(); err != nil {
			e.t.Errorf("Close: %v", err)
		}
		e.st = nil
	}
}

// restart closes the file and opens it again.
func (e *rotEnv) restart() { e.close(); e.open() }

// do serves one request carrying tok and returns the body and the token
// the response set ("" if none).
func (e *rotEnv) do(tok string, h http.HandlerFunc) (string, string) {
	r := httptest.NewRequest("GET", "http://localhost/", nil)
	if tok != "" {
		r.AddCookie(&http.Cookie{Name: "sid", Value: tok})
	}
	w := httptest.NewRecorder()
	e.m.Handler(h).ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.Name == "sid" && c.MaxAge >= 0 && c.Value != "" {
			return w.Body.String(), c.Value
		}
	}
	return w.Body.String(), ""
}

func whoami(w http.ResponseWriter, r *http.Request) {
	s := session.From(r)
	fmt.Fprintf(w, "user=%s k=%s", s.UserID(), s.GetString("k"))
}

func put(k, v string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { _ = session.From(r).Put(k, v); whoami(w, r) }
}

// chain signs alice in and rotates her token n times; it returns every
// token, oldest first.
func (e *rotEnv) chain(n int) []string {
	e.t.Helper()
	_, tok := e.do("", func(w http.ResponseWriter, r *http.Request) {
		_ = session.From(r).Login("alice")
		_ = session.From(r).Put("k", "v0")
	})
	toks := []string{tok}
	for range n {
		e.clk.Advance(e.rot.Every + time.Second)
		_, next := e.do(toks[len(toks)-1], whoami)
		if next == "" {
			e.t.Fatal("no rotation")
		}
		toks = append(toks, next)
	}
	return toks
}

func TestI3_BoltRotationChainNeverCrossesAuthChange(t *testing.T) {
	changes := map[string]func(e *rotEnv, head string) string{
		"Renew": func(e *rotEnv, head string) string {
			_, tok := e.do(head, func(w http.ResponseWriter, r *http.Request) {
				_ = session.From(r).Renew()
				_ = session.From(r).Put("k", "after")
			})
			return tok
		},
		"RevokeOthers": func(e *rotEnv, head string) string {
			_, tok := e.do(head, func(w http.ResponseWriter, r *http.Request) {
				if _, err := session.From(r).RevokeOthers(r.Context(), session.EndCredentialsChanged); err != nil {
					t.Error(err)
				}
				_ = session.From(r).Put("k", "after")
			})
			return tok
		},
		"RevokeAll": func(e *rotEnv, head string) string {
			if _, err := e.m.RevokeAll(context.Background(), "alice", session.EndAllSessionsEnded); err != nil {
				t.Fatal(err)
			}
			return ""
		},
	}
	for name, change := range changes {
		for _, n := range []int{5, 10, 25} {
			t.Run(fmt.Sprintf("%s/chain=%d", name, n), func(t *testing.T) {
				e := newRotEnv(t, session.RotationConfig{Every: time.Minute, Grace: 30 * time.Minute})
				toks := e.chain(n)
				carried := change(e, toks[n])
				e.restart()
				for i, tok := range toks {
					if body, _ := e.do(tok, whoami); body != "user= k=" {
						t.Errorf("token %d of %d after %s: %q, want no session", i, n, name, body)
					}
					e.do(tok, put("k", "from-old")) // lands nowhere the session can see
				}
				if carried != "" {
					if body, _ := e.do(carried, whoami); body != "user=alice k=after" {
						t.Errorf("the token after %s: %q", name, body)
					}
				}
			})
		}
	}
}

func TestI11_BoltLongRotationChainWithinGraceServesTheHead(t *testing.T) {
	for _, n := range []int{5, 10, 25} {
		t.Run(fmt.Sprintf("chain=%d", n), func(t *testing.T) {
			e := newRotEnv(t, session.RotationConfig{Every: time.Minute, Grace: 30 * time.Minute})
			toks := e.chain(n)
			e.restart()
			e.clk.Advance(time.Minute + time.Second) // the head is due again
			var wg sync.WaitGroup
			for i := range 3 * len(toks) {
				wg.Go(func() {
					tok := toks[i%len(toks)]
					if body, _ := e.do(tok, put(fmt.Sprint("w", i), "x")); !strings.HasPrefix(body, "user=alice ") {
						t.Errorf("request %d with a token %d rotations old: %q", i, n-i%len(toks), body)
					}
				})
			}
			wg.Wait()
			keys, _ := e.do(toks[0], func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, len(session.From(r).Keys()))
			})
			if keys != fmt.Sprint(3*len(toks)+1) {
				t.Errorf("the session holds %s values, want %d", keys, 3*len(toks)+1)
			}
			if n := e.ev.count(session.EventTokenReuse) + e.ev.count(session.EventDeadToken); n != 0 {
				t.Errorf("%d tokens inside their grace window refused", n)
			}
		})
	}
}

func TestI12_BoltReuseOnlyOnProof(t *testing.T) {
	rot := session.RotationConfig{Every: 10 * time.Minute, Grace: 30 * time.Second}
	for _, presented := range []bool{false, true} {
		t.Run(fmt.Sprintf("successor presented=%v", presented), func(t *testing.T) {
			e := newRotEnv(t, rot)
			toks := e.chain(1) // the reply with toks[1] may never have reached anyone
			if presented {
				e.do(toks[1], whoami)
			}
			e.restart()
			e.clk.Advance(rot.Grace + time.Second)
			body, next := e.do(toks[0], whoami)
			switch {
			case presented && (body != "user= k=" || e.ev.count(session.EventTokenReuse) != 1):
				t.Fatalf("old token after its successor was used: %q, %d reuse events", body, e.ev.count(session.EventTokenReuse))
			case presented:
				if body, _ := e.do(toks[1], whoami); body != "user= k=" {
					t.Fatalf("successor after reuse: %q", body)
				}
			case body != "user=alice k=v0" || next == "" || e.ev.count(session.EventReissued) != 1:
				t.Fatalf("old token, successor never seen: %q, new token %v, %d reissues", body, next != "", e.ev.count(session.EventReissued))
			default:
				e.restart()
				if body, _ := e.do(next, whoami); body != "user=alice k=v0" {
					t.Fatalf("the reissued token: %q", body)
				}
			}
		})
	}
}

// I12 under races on a file: the successor's first use and the old token
// after its grace window at the same moment are found out, whichever write
// lands first; one browser whose rotation reply was lost, sending the old
// token in parallel after the grace window, is never signed out.
func TestI12_BoltRaces(t *testing.T) {
	rot := session.RotationConfig{Every: 10 * time.Minute, Grace: 30 * time.Second}
	for round := range 15 {
		e := newRotEnv(t, rot)
		toks := e.chain(1)
		e.clk.Advance(rot.Grace + time.Second)
		var wg sync.WaitGroup
		var set [2]string
		for i, tok := range toks {
			wg.Go(func() { _, set[i] = e.do(tok, put(fmt.Sprint("w", i), "x")) })
		}
		wg.Wait()
		all := append(toks, set[0], set[1])
		for range 2 { // settle any grace window the race opened
			for _, tok := range all {
				if tok != "" {
					e.do(tok, whoami)
				}
			}
			e.clk.Advance(rot.Grace + time.Second)
		}
		for _, tok := range all {
			if body, _ := e.do(tok, whoami); tok != "" && strings.HasPrefix(body, "user=alice") {
				t.Fatalf("round %d: a token works after two holders met", round)
			}
		}
	}
	for round := range 5 {
		e := newRotEnv(t, rot)
		toks := e.chain(0)
		e.clk.Advance(rot.Every + time.Second)
		e.do(toks[0], whoami) // rotated; the reply is lost
		e.clk.Advance(rot.Grace + time.Second)
		var wg sync.WaitGroup
		var mu sync.Mutex
		jar := toks[0]
		for i := range 8 {
			wg.Go(func() {
				mu.Lock()
				tok := jar
				mu.Unlock()
				body, next := e.do(tok, put(fmt.Sprint("w", i), "x"))
				if !strings.HasPrefix(body, "user=alice") {
					t.Errorf("round %d: request %d signed out: %q", round, i, body)
				}
				if next != "" {
					mu.Lock()
					jar = next
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if n := e.ev.count(session.EventTokenReuse); n != 0 {
			t.Fatalf("round %d: %d reuse alarms for one browser", round, n)
		}
		if keys, _ := e.do(jar, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, session.From(r).Keys()) }); keys != "[k w0 w1 w2 w3 w4 w5 w6 w7]" {
			t.Fatalf("round %d: %s", round, keys)
		}
	}
}
