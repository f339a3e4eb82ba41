package redisstore_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/redisstore"
)

// TestI1_TTLExpiredTokensAreNotGuesses: Redis drops expired sessions by
// their TTL, after which it cannot tell their tokens from invented ones.
// With keys, the tag can: twenty colleagues behind one address coming back
// to such sessions trip no guessing cool-down, and a live session at that
// address is served; invented tokens from there still trip it.
func TestI1_TTLExpiredTokensAreNotGuesses(t *testing.T) {
	srv := redistest.Start(t)
	st := redisstore.New(newClient(t, srv), redisstore.Options{})
	key := make([]byte, session.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keys, err := session.NewKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	m, err := session.New(st, session.Config{Keys: keys, OnEvent: ev.on, IdleTimeout: time.Second,
		Guessing: session.GuessingConfig{Limit: 5, Window: time.Hour, Cooldown: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	h := app(m)
	var old []string
	for i := range 20 {
		b := &browser{}
		b.post(h, "/login", form("user", fmt.Sprint("user", i))).want(t, "sign-in", 200, "ok")
		old = append(old, b.cookie)
	}
	time.Sleep(time.Second)
	forgotten := eventually(10*time.Second, func() bool {
		for _, c := range old {
			sum := sha256.Sum256([]byte(strings.TrimPrefix(c, session.DefaultCookieName+"=")))
			if _, err := st.Get(t.Context(), hex.EncodeToString(sum[:])); !errors.Is(err, store.ErrNotFound) {
				return false
			}
		}
		return true
	})
	if !forgotten {
		t.Fatal("Redis still holds the expired sessions")
	}
	live := &browser{}
	live.post(h, "/login", form("user", "zoe")).want(t, "live sign-in", 200, "ok")
	from := func(cookie string) response {
		r := httptest.NewRequest(http.MethodGet, "https://app.example/whoami", nil)
		r.RemoteAddr = "192.0.2.10:1"
		r.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return response{code: w.Code, body: w.Body.String()}
	}
	for i, c := range old {
		from(c).want(t, fmt.Sprint("colleague ", i, " with an expired cookie"), 200, "user= note=")
	}
	if n := ev.count(session.EventTokenGuessing); n != 0 {
		t.Fatalf("expired tokens counted as guesses: %d token-guessing events", n)
	}
	from(live.cookie).want(t, "the live session at the office address", 200, "user=zoe note=")
	for range 5 {
		b := make([]byte, 48)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		from(session.DefaultCookieName + "=" + base64URL(b))
	}
	if n := ev.count(session.EventTokenGuessing); n != 1 {
		t.Fatalf("5 invented tokens raised %d token-guessing events, want 1", n)
	}
}

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
