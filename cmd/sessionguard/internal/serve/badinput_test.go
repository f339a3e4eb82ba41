package serve

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback/loopbacktest"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/app"
	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/memstore"
)

// flakyStore fails on demand, as a store that is down or times out.
type flakyStore struct {
	store.Store
	down atomic.Bool
}

func (f *flakyStore) Get(ctx context.Context, key string) (*store.Record, error) {
	if f.down.Load() {
		return nil, context.DeadlineExceeded
	}
	return f.Store.Get(ctx, key)
}

// rawRequest sends a request as bytes, so that it can hold what Go's
// client refuses to send (control bytes in a header), and returns the
// status code.
func rawRequest(t *testing.T, addr, path string, headers ...string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n" + strings.Join(headers, "") + "\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The bad-input matrix through the reference app served as `serve` serves
// it: each input gets a defined answer, no panic, and the signed-in
// session survives all of them.
func TestBadInputThroughServe(t *testing.T) {
	mem := memstore.New(memstore.Options{})
	defer mem.Close()
	st := &flakyStore{Store: mem}
	accts, _ := app.NewAccounts([]app.Account{{Name: "alice", Password: "alice-password"}})
	var events atomic.Int64
	handler, err := app.New(app.Config{Store: st, Accounts: accts, Session: session.Config{OnEvent: func(e session.Event) {
		if e.Kind.Suspicious() {
			events.Add(1)
		}
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(handler)
	go srv.Serve(ln)
	defer srv.Close()
	addr := ln.Addr().String()
	b := loopback.NewBrowser("alice")
	loopbacktest.SignIn(t, b, "http://"+addr, "alice", "alice-password")
	good := b.Cookie(session.DefaultCookieName)
	name := session.DefaultCookieName
	cookie := func(v string) string { return "Cookie: " + name + "=" + v + "\r\n" }
	dup := strings.Repeat(cookie(good), 50)

	cases := []struct {
		name   string
		header string
		want   int
	}{
		{"oversized Cookie header", cookie(strings.Repeat("A", 1<<20)), http.StatusRequestHeaderFieldsTooLarge},
		{"50 duplicate cookies of the session", dup, http.StatusOK},
		{"50 duplicates mixed with an invented one", dup + cookie(strings.Repeat("B", 43)), http.StatusOK},
		{"invalid base64", cookie(strings.Repeat("*", 43)), http.StatusSeeOther},
		{"control bytes (refused by net/http)", cookie(good[:40] + "\x01\x02\x7f"), http.StatusBadRequest},
		{"wrong length", cookie(good[:20]), http.StatusSeeOther},
		{"NUL byte", cookie(good[:42] + "\x00"), http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := events.Load()
			if got := rawRequest(t, addr, "/dashboard", c.header); got != c.want {
				t.Fatalf("status %d, want %d", got, c.want)
			}
			if c.want == http.StatusSeeOther && events.Load() == before {
				t.Fatal("no security event for a bad cookie")
			}
			if got := rawRequest(t, addr, "/dashboard", cookie(good)); got != http.StatusOK {
				t.Fatalf("the signed-in session after it: %d", got)
			}
		})
	}

	t.Run("value over the size limit", func(t *testing.T) {
		res := loopbacktest.Post(t, b, "http://"+addr+"/dashboard/note", url.Values{"note": {strings.Repeat("x", 10_000)}})
		if res.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", res.Status)
		}
	})
	t.Run("corrupt record", func(t *testing.T) {
		victim := loopback.NewBrowser("victim")
		loopbacktest.SignIn(t, victim, "http://"+addr, "alice", "alice-password")
		// The store key of a session is the SHA-256 of its token, in hex.
		sum := sha256.Sum256([]byte(victim.Cookie(name)))
		key := hex.EncodeToString(sum[:])
		rec, err := mem.Get(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		rec.Data = []byte{0x56, 0x01, 0xff, 0xff}
		if err := mem.Update(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		if got := rawRequest(t, addr, "/dashboard", cookie(victim.Cookie(name))); got != http.StatusServiceUnavailable {
			t.Fatalf("corrupt record: %d, want 503", got)
		}
	})
	t.Run("store timing out", func(t *testing.T) {
		st.down.Store(true)
		defer st.down.Store(false)
		if got := rawRequest(t, addr, "/dashboard", cookie(good)); got != http.StatusServiceUnavailable {
			t.Fatalf("store down: %d, want 503", got)
		}
	})
	if got := rawRequest(t, addr, "/dashboard", cookie(good)); got != http.StatusOK {
		t.Fatalf("after the store came back: %d", got)
	}
}
