package session_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionguard/sessionguard/session"
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
