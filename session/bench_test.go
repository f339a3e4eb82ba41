package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
)

// BenchmarkRead measures a signed-in request that reads one value, the
// hot path of most applications; bench/ compares it with other libraries.
func BenchmarkRead(b *testing.B) { benchRead(b, session.Config{}) }

// BenchmarkReadWithKeys is BenchmarkRead with Config.Keys: the token's tag
// is checked before the store is asked.
func BenchmarkReadWithKeys(b *testing.B) { benchRead(b, session.Config{Keys: testKeys(b, 2)}) }

func benchRead(b *testing.B, cfg session.Config) {
	e := newEnv(b, newMem(b), cfg)
	tok := e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.Login("alice")
		s.Put("name", "Alice")
	}, e.req("POST", "/")))
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = session.From(r).GetString("name")
	}))
	req := e.req("GET", "/", tok)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		clear(w.Header())
		h.ServeHTTP(w, req)
	}
}

// BenchmarkWrite measures a signed-in request that updates one value.
func BenchmarkWrite(b *testing.B) {
	e := newEnv(b, newMem(b), session.Config{})
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		n, _ := session.Value[int](s, "n")
		s.Put("n", n+1)
	}))
	req := e.req("GET", "/", tok)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		clear(w.Header())
		h.ServeHTTP(w, req)
	}
}

// BenchmarkNoCookie measures a request without a session cookie that does
// not touch the session.
func BenchmarkNoCookie(b *testing.B) {
	e := newEnv(b, newMem(b), session.Config{})
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := e.req("GET", "/")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		clear(w.Header())
		h.ServeHTTP(w, req)
	}
}

// BenchmarkForgedToken measures a request with an invented tagged token
// under Config.Keys: refused on its tag, the store is never asked.
func BenchmarkForgedToken(b *testing.B) {
	e := newEnv(b, newMem(b), session.Config{Keys: testKeys(b, 2), Guessing: session.GuessingConfig{Limit: -1}})
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := e.req("GET", "/", randomToken(b, 64))
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		clear(w.Header())
		h.ServeHTTP(w, req)
	}
}

// BenchmarkForwarded measures a read-only request whose token was rotated
// away n times and is still inside its grace window (Config.Rotation): it
// follows the chain to the session's newest record. reads/op counts the
// store calls it makes (Get and ListUser).
func BenchmarkForwarded(b *testing.B) {
	for _, n := range []int{0, 1, 4, 5, 25} {
		b.Run(fmt.Sprintf("rotations=%d", n), func(b *testing.B) {
			rc := &readCounter{Store: newMem(b)}
			e, clk := chainEnv(b, rc)
			toks := buildChain(b, e, clk, n)
			e.do(whoami, e.req("GET", "/", toks[n])) // the head is presented
			h := e.m.Handler(http.HandlerFunc(whoami))
			req := e.req("GET", "/", toks[0])
			w := httptest.NewRecorder()
			rc.reads.Store(0)
			b.ReportAllocs()
			for b.Loop() {
				w.Body.Reset()
				clear(w.Header())
				h.ServeHTTP(w, req)
			}
			if w.Body.String() != "user=alice k=v0" {
				b.Fatalf("forwarded request: %q", w.Body.String())
			}
			b.ReportMetric(float64(rc.reads.Load())/float64(b.N), "reads/op")
		})
	}
}

// readCounter counts the reads a store serves.
type readCounter struct {
	store.Store
	reads atomic.Int64
}

func (c *readCounter) Get(ctx context.Context, key string) (*store.Record, error) {
	c.reads.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *readCounter) ListUser(ctx context.Context, userID string) ([]*store.Record, error) {
	c.reads.Add(1)
	return c.Store.ListUser(ctx, userID)
}
