package session_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/memstore"
)

// office is the address twenty colleagues share behind one NAT.
const office = "192.0.2.10:1"

// fromAddr runs h with the given cookies as a request from addr.
func (e *env) fromAddr(addr string, h http.HandlerFunc, tokens ...string) *httptest.ResponseRecorder {
	r := e.req("GET", "/", tokens...)
	r.RemoteAddr = addr
	return e.do(h, r)
}

// waitForgotten waits until the store answers ErrNotFound for every token:
// its sweeper has removed the expired records.
func waitForgotten(t *testing.T, st store.Store, tokens []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, tok := range tokens {
		for {
			_, err := st.Get(context.Background(), keyOf(tok))
			if errors.Is(err, store.ErrNotFound) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the store still answers %v for an expired token", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestI1_SweptTokensAreNotGuesses: twenty colleagues behind one address
// come back to sessions that expired and were swept out of the store. Their
// cookies were issued by this server, so they are not guesses: no
// token-guessing event, no cool-down, and a colleague's live session at
// that address is served.
func TestI1_SweptTokensAreNotGuesses(t *testing.T) {
	st := memstore.New(memstore.Options{SweepInterval: 20 * time.Millisecond})
	t.Cleanup(func() { st.Close() })
	cfg := session.Config{IdleTimeout: time.Second,
		Guessing: session.GuessingConfig{Limit: 5, Window: time.Hour, Cooldown: time.Hour}}
	cfg.Keys = testKeys(t, 1)
	e := newEnv(t, st, cfg)
	var old []string
	for i := range 20 {
		old = append(old, e.token(e.do(loginHandler(fmt.Sprint("user", i)), e.req("POST", "/login"))))
	}
	time.Sleep(1100 * time.Millisecond)
	waitForgotten(t, st, old)
	live := e.token(e.do(loginHandler("zoe"), e.req("POST", "/login")))
	for i, tok := range old {
		if rec := e.fromAddr(office, whoami, tok); rec.Code != http.StatusOK || rec.Body.String() != "user= k=" {
			t.Fatalf("colleague %d with a swept cookie: %d %q, want an anonymous 200", i, rec.Code, rec.Body.String())
		}
	}
	if n := e.ev.count(session.EventTokenGuessing); n != 0 {
		t.Fatalf("swept tokens counted as guesses: %d token-guessing events", n)
	}
	if u, f := e.ev.count(session.EventUnknownToken), e.ev.count(session.EventForgottenToken); u != 0 || f != len(old) {
		t.Fatalf("swept tokens raised %d unknown-token and %d forgotten-token events, want 0 and %d", u, f, len(old))
	}
	rec := e.fromAddr(office, whoami, live)
	if rec.Code != http.StatusOK || rec.Body.String() != "user=zoe k=" {
		t.Fatalf("a live session at the office address: %d %q, want it served", rec.Code, rec.Body.String())
	}
}

// testKeys returns a key set of n fresh random keys, the first current.
func testKeys(t testing.TB, n int) *session.Keys {
	t.Helper()
	raw := make([][]byte, n)
	for i := range raw {
		raw[i] = make([]byte, session.KeySize)
		if _, err := rand.Read(raw[i]); err != nil {
			t.Fatal(err)
		}
	}
	k, err := session.NewKeys(raw[0], raw[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// randomToken returns an invented token of n base64url characters
// (43: the untagged form, 64: the tagged form), canonical for its length.
func randomToken(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n*6/8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestI1_InventedTokensStillCount: an attacker at the office address
// inventing tokens trips the cool-down, whatever form the tokens take:
// with keys, tagged tokens whose tag fails are refused without a store
// call, and untagged ones (the form issued before keys were set) are
// looked up and counted, so sending the old form bypasses nothing.
func TestI1_InventedTokensStillCount(t *testing.T) {
	cases := []struct {
		name      string
		keys      bool
		length    int
		storeGets int64 // per invented token
	}{
		{"no keys, untagged", false, 43, 1},
		{"no keys, tagged shape", false, 64, 1},
		{"keys, forged tag", true, 64, 0},
		{"keys, untagged (pre-upgrade form)", true, 43, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := &faultStore{Store: newMem(t)}
			cfg := session.Config{Guessing: session.GuessingConfig{Limit: 5, Window: time.Hour, Cooldown: time.Hour}}
			if tc.keys {
				cfg.Keys = testKeys(t, 2)
			}
			e := newEnv(t, fs, cfg)
			for i := range 5 {
				before := fs.gets.Load()
				if rec := e.fromAddr(office, whoami, randomToken(t, tc.length)); rec.Code != http.StatusOK {
					t.Fatalf("guess %d: %d, want 200 below the limit", i, rec.Code)
				}
				if got := fs.gets.Load() - before; got != tc.storeGets {
					t.Fatalf("guess %d cost %d store reads, want %d", i, got, tc.storeGets)
				}
			}
			if n := e.ev.count(session.EventTokenGuessing); n != 1 {
				t.Fatalf("%d token-guessing events after 5 invented tokens, want 1", n)
			}
			if n := e.ev.count(session.EventUnknownToken); n != 5 {
				t.Fatalf("%d unknown-token events, want 5", n)
			}
			before := fs.gets.Load()
			if rec := e.fromAddr(office, whoami, randomToken(t, tc.length)); rec.Code != http.StatusTooManyRequests {
				t.Fatalf("in the cool-down: %d, want 429", rec.Code)
			}
			if fs.gets.Load() != before {
				t.Fatal("a refused guess reached the store")
			}
		})
	}
}

// TestI1_CoolDownServesIssuedTokens: with keys, a guesser's cool-down
// does not refuse a colleague at the same address whose token carries a
// valid tag; without keys nothing tells them apart before the store, and
// the colleague is refused too (the documented cost).
func TestI1_CoolDownServesIssuedTokens(t *testing.T) {
	for _, keys := range []bool{true, false} {
		t.Run(fmt.Sprint("keys=", keys), func(t *testing.T) {
			cfg := session.Config{Guessing: session.GuessingConfig{Limit: 3, Window: time.Hour, Cooldown: time.Hour}}
			if keys {
				cfg.Keys = testKeys(t, 1)
			}
			e := newEnv(t, newMem(t), cfg)
			live := e.token(e.do(loginHandler("zoe"), e.req("POST", "/login")))
			for range 3 {
				e.fromAddr(office, whoami, randomToken(t, 64))
			}
			if rec := e.fromAddr(office, whoami, randomToken(t, 64)); rec.Code != http.StatusTooManyRequests {
				t.Fatalf("guesser in the cool-down: %d, want 429", rec.Code)
			}
			rec := e.fromAddr(office, whoami, live)
			if keys && (rec.Code != http.StatusOK || rec.Body.String() != "user=zoe k=") {
				t.Fatalf("live tagged session at the guesser's address: %d %q, want it served", rec.Code, rec.Body.String())
			}
			if !keys && rec.Code != http.StatusTooManyRequests {
				t.Fatalf("without keys, a cookie from the refused address: %d, want 429", rec.Code)
			}
		})
	}
}

// TestI1_KeyRotation: a token issued under a key keeps working while that
// key is listed, current or not, and is refused, without a store call,
// once it is removed; another instance with the same keys accepts it.
func TestI1_KeyRotation(t *testing.T) {
	st := &faultStore{Store: newMem(t)}
	cur, old := rawKeys(t)
	before := mustKeys(t, old)      // the old key alone
	during := mustKeys(t, cur, old) // the new key current, the old still listed
	after := mustKeys(t, cur)       // the old key removed
	a := newEnv(t, st, session.Config{Keys: before})
	oldTok := a.token(a.do(loginHandler("ann"), a.req("POST", "/login")))
	cases := []struct {
		name   string
		keys   *session.Keys
		want   string // the user oldTok signs in as
		reads  int64  // store reads for oldTok
		forged int    // unknown-token events for it
	}{
		{"same keys, another instance", before, "ann", 1, 0},
		{"rotated, old key still listed", during, "ann", 1, 0},
		{"old key removed", after, "", 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, st, session.Config{Keys: tc.keys})
			reads := st.gets.Load()
			if got := e.user(oldTok); got != tc.want {
				t.Fatalf("the old key's token signs in as %q, want %q", got, tc.want)
			}
			if got := st.gets.Load() - reads; got != tc.reads {
				t.Fatalf("%d store reads, want %d", got, tc.reads)
			}
			if got := e.ev.count(session.EventUnknownToken); got != tc.forged {
				t.Fatalf("%d unknown-token events, want %d", got, tc.forged)
			}
			// Tokens issued now are tagged under the current key: the
			// instance that has only the old key refuses them.
			fresh := e.token(e.do(loginHandler("bob"), e.req("POST", "/login")))
			if got := e.user(fresh); got != "bob" {
				t.Fatalf("a fresh token signs in as %q", got)
			}
			if tc.keys != before {
				if got := a.user(fresh); got != "" {
					t.Fatalf("an instance without the new key accepted its token as %q", got)
				}
			}
		})
	}
}

// rawKeys returns two fresh raw keys.
func rawKeys(t testing.TB) (a, b []byte) {
	t.Helper()
	a, b = make([]byte, session.KeySize), make([]byte, session.KeySize)
	if _, err := rand.Read(a); err != nil {
		t.Fatal(err)
	}
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func mustKeys(t testing.TB, current []byte, old ...[]byte) *session.Keys {
	t.Helper()
	k, err := session.NewKeys(current, old...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestI1_TokensFromBeforeTheUpgrade: sessions issued without keys keep
// working once keys are set, including a sign-out, and the store keys of
// those tokens are unchanged; tokens issued from then on are tagged.
func TestI1_TokensFromBeforeTheUpgrade(t *testing.T) {
	st := newMem(t)
	old := newEnv(t, st, session.Config{})
	tok := old.token(old.do(loginHandler("ann"), old.req("POST", "/login")))
	if len(tok) != 43 {
		t.Fatalf("without keys a token has %d characters, want 43", len(tok))
	}
	up := newEnv(t, st, session.Config{Keys: testKeys(t, 1)})
	if got := up.user(tok); got != "ann" {
		t.Fatalf("a pre-upgrade token signs in as %q after keys were set", got)
	}
	if _, err := st.Get(context.Background(), keyOf(tok)); err != nil {
		t.Fatalf("the pre-upgrade record is not under SHA-256(token): %v", err)
	}
	fresh := up.token(up.do(loginHandler("ann"), up.req("POST", "/login", tok)))
	if len(fresh) != 64 {
		t.Fatalf("with keys a token has %d characters, want 64", len(fresh))
	}
	if got := up.user(tok); got != "" {
		t.Fatalf("the renewed pre-upgrade token still signs in as %q", got)
	}
	if got := up.user(fresh); got != "ann" {
		t.Fatalf("the tagged token signs in as %q", got)
	}
	if _, err := st.Get(context.Background(), keyOf(fresh)); err != nil {
		t.Fatalf("the tagged token's record is not under SHA-256(token): %v", err)
	}
}

// TestI1_CoolDownHolderOfAnIssuedToken: a guesser in a cool-down who holds
// a token of its own cannot smuggle guesses past the cool-down beside it:
// only the tagged token reaches the store.
func TestI1_CoolDownHolderOfAnIssuedToken(t *testing.T) {
	fs := &faultStore{Store: newMem(t)}
	e := newEnv(t, fs, session.Config{Keys: testKeys(t, 1),
		Guessing: session.GuessingConfig{Limit: 3, Window: time.Hour, Cooldown: time.Hour}})
	own := e.token(e.do(loginHandler("mallory"), e.req("POST", "/login")))
	for range 3 {
		e.fromAddr(office, whoami, randomToken(t, 43))
	}
	cases := []struct {
		name   string
		tokens []string
		code   int
		reads  int64
	}{
		{"untagged guesses alone", []string{randomToken(t, 43), randomToken(t, 43)}, http.StatusTooManyRequests, 0},
		{"untagged guesses beside its own token", []string{randomToken(t, 43), own, randomToken(t, 43)}, http.StatusOK, 1},
		{"forged tags beside its own token", []string{randomToken(t, 64), own}, http.StatusOK, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := fs.gets.Load()
			rec := e.fromAddr(office, whoami, tc.tokens...)
			if rec.Code != tc.code {
				t.Fatalf("got %d, want %d", rec.Code, tc.code)
			}
			if got := fs.gets.Load() - before; got != tc.reads {
				t.Fatalf("%d store reads, want %d", got, tc.reads)
			}
		})
	}
}

// TestI4_TaggedTokensAndStoreKeys: with keys a token is 32 random bytes
// and a 16-byte tag, 64 base64url characters; the store keeps the record
// under SHA-256 of the whole token and holds neither the token nor its
// random part.
func TestI4_TaggedTokensAndStoreKeys(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{Keys: testKeys(t, 1)})
	seen := map[string]bool{}
	for range 200 {
		tok := e.token(e.do(putHandler("k", "v"), e.req("GET", "/")))
		raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
		if len(tok) != 64 || err != nil || len(raw) != 48 {
			t.Fatalf("token %q is not 64 base64url characters of 48 bytes", tok)
		}
		random := base64.RawURLEncoding.EncodeToString(raw[:32])
		if seen[random] {
			t.Fatal("random part issued twice")
		}
		seen[random] = true
		rec, err := e.store.Get(context.Background(), keyOf(tok))
		if err != nil {
			t.Fatalf("store has no record under SHA-256(token): %v", err)
		}
		blob, err := rec.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(blob, []byte(tok)) || bytes.Contains(blob, []byte(random[:40])) || bytes.Contains(blob, raw[:32]) {
			t.Fatal("the store record contains the token or its random part")
		}
	}
}

// TestI1_TaggedTokenHasOneSpelling: the random part of a live tagged
// token, sent untagged or with any other tag, is no session: the store
// keeps the record under the whole token, and a tag binds to its key.
func TestI1_TaggedTokenHasOneSpelling(t *testing.T) {
	keys := testKeys(t, 1)
	e := newEnv(t, newMem(t), session.Config{Keys: keys})
	tok := e.token(e.do(loginHandler("ann"), e.req("POST", "/login")))
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	other := newEnv(t, newMem(t), session.Config{Keys: testKeys(t, 1)})
	otherRaw, err := base64.RawURLEncoding.DecodeString(other.token(other.do(putHandler("k", "v"), other.req("GET", "/"))))
	if err != nil {
		t.Fatal(err)
	}
	retag := func(tag []byte) string {
		return base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), raw[:32]...), tag...))
	}
	flipped := append([]byte(nil), raw[32:]...)
	flipped[15] ^= 1
	cases := map[string]string{
		"untagged random part":   base64.RawURLEncoding.EncodeToString(raw[:32]),
		"zero tag":               retag(make([]byte, 16)),
		"one bit of the tag":     retag(flipped),
		"another key set's tag":  retag(otherRaw[32:]),
		"tag of another random":  base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), otherRaw[:32]...), raw[32:]...)),
		"std alphabet character": "+" + tok[1:],
		"padded":                 tok + "=",
	}
	if e.user(tok) != "ann" {
		t.Fatal("the token itself does not sign in")
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			if got := e.user(v); got != "" {
				t.Fatalf("%q signs in as %q", v, got)
			}
		})
	}
}
