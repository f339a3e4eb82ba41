package session_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/session/sessiontest"
	"github.com/sessionguard/sessionguard/store"
)

func TestTokenGuessingDetected(t *testing.T) {
	clk := newClock()
	e := newEnv(t, newMem(t), session.Config{Now: clk.Now, Guessing: session.GuessingConfig{Limit: 5, Window: time.Minute, Cooldown: 30 * time.Second}})
	good := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	guess := func(ip string, i int) *httptest.ResponseRecorder {
		r := e.req("GET", "/", inventedToken(byte(i)))
		r.RemoteAddr = ip + ":1234"
		return e.do(whoami, r)
	}
	for i := range 4 {
		if rec := guess("198.51.100.7", i); rec.Code != 200 {
			t.Fatalf("guess %d: %d", i, rec.Code)
		}
	}
	if e.ev.count(session.EventTokenGuessing) != 0 {
		t.Fatal("event before the threshold")
	}
	guess("198.51.100.7", 5)
	if e.ev.count(session.EventTokenGuessing) != 1 {
		t.Fatal("no token-guessing event at the threshold")
	}
	// In the cool-down every request with a session cookie is refused, even
	// a valid one from that address; other clients are not affected.
	rec := guess("198.51.100.7", 6)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("in the cool-down: %d", rec.Code)
	}
	r := e.req("GET", "/", good)
	r.RemoteAddr = "198.51.100.7:1"
	if rec := e.do(whoami, r); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("valid cookie from a blocked client: %d", rec.Code)
	}
	if rec := guess("198.51.100.8", 7); rec.Code != 200 {
		t.Fatalf("another client: %d", rec.Code)
	}
	if e.ev.count(session.EventStoreError) != 0 {
		t.Fatal("a refusal was reported as a store error")
	}
	clk.advance(31 * time.Second)
	if rec := guess("198.51.100.7", 8); rec.Code != 200 {
		t.Fatalf("after the cool-down: %d", rec.Code)
	}
}

// Thousands of clients cost bounded memory: past GuessClients, the least
// recently seen are forgotten. The bound is observed through behaviour: a
// client pushed out of the table starts counting again.
func TestTokenGuessingMemoryBound(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{Guessing: session.GuessingConfig{Limit: 3, Clients: 100}})
	guess := func(ip string) {
		r := e.req("GET", "/", inventedToken(1))
		r.RemoteAddr = ip + ":1"
		e.do(whoami, r)
	}
	guess("203.0.113.1")
	guess("203.0.113.1")
	for i := range 5000 {
		guess(fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255))
	}
	before := e.ev.count(session.EventTokenGuessing)
	guess("203.0.113.1") // its two earlier misses were forgotten
	if e.ev.count(session.EventTokenGuessing) != before {
		t.Fatal("a client forgotten by the bounded table was still counted")
	}
	guess("203.0.113.1")
	guess("203.0.113.1")
	if e.ev.count(session.EventTokenGuessing) != before+1 {
		t.Fatal("no event after three fresh misses")
	}
}

func TestTrustedProxyClientIP(t *testing.T) {
	ip := session.TrustedProxyClientIP(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128"))
	cases := []struct {
		remote, xff, want string
	}{
		{"203.0.113.5:1", "", "203.0.113.5"},
		{"203.0.113.5:1", "1.2.3.4", "203.0.113.5"}, // untrusted peer: header ignored
		{"10.0.0.2:1", "198.51.100.9", "198.51.100.9"},
		{"10.0.0.2:1", "1.1.1.1, 198.51.100.9, 10.0.0.3", "198.51.100.9"}, // rightmost untrusted
		{"10.0.0.2:1", "garbage", "10.0.0.2"},
		{"10.0.0.2:1", "10.0.0.9", "10.0.0.2"},
		{"[::1]:1", "2001:db8::1", "2001:db8::1"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := ip(r); got != c.want {
			t.Errorf("RemoteAddr %s, X-Forwarded-For %q: %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
	// Several header lines are one list, in order; an empty hop anywhere
	// is malformed.
	for _, c := range []struct {
		lines []string
		want  string
	}{
		{[]string{"1.1.1.1, 198.51.100.9", "10.0.0.3"}, "198.51.100.9"},
		{[]string{"198.51.100.7", "10.0.0.3, 10.0.0.4"}, "198.51.100.7"},
		{[]string{"198.51.100.9,,10.0.0.3"}, "10.0.0.2"},
		{[]string{"198.51.100.9", ""}, "10.0.0.2"},
		{[]string{"10.0.0.3, "}, "10.0.0.2"},
		{[]string{"10.0.0.3", "10.0.0.4"}, "10.0.0.2"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.2:1"
		for _, l := range c.lines {
			r.Header.Add("X-Forwarded-For", l)
		}
		if got := ip(r); got != c.want {
			t.Errorf("X-Forwarded-For lines %q: %s, want %s", c.lines, got, c.want)
		}
	}
}

func TestClientBinding(t *testing.T) {
	for _, mode := range []session.ClientBinding{session.BindUserAgentEvent, session.BindUserAgentStrict} {
		e := newEnv(t, newMem(t), session.Config{ClientBinding: mode})
		r := e.req("POST", "/login")
		r.Header.Set("User-Agent", "Firefox")
		tok := e.token(e.do(loginHandler("alice"), r))
		same := e.req("GET", "/", tok)
		same.Header.Set("User-Agent", "Firefox")
		if body := e.do(whoami, same).Body.String(); !strings.HasPrefix(body, "user=alice") {
			t.Fatalf("same client: %q", body)
		}
		other := e.req("GET", "/", tok)
		other.Header.Set("User-Agent", "curl/8")
		body := e.do(whoami, other).Body.String()
		if e.ev.count(session.EventClientChanged) != 1 {
			t.Fatalf("mode %d: no client-changed event", mode)
		}
		signedIn := strings.HasPrefix(body, "user=alice")
		if mode == session.BindUserAgentStrict {
			if signedIn || e.user(tok) != "" {
				t.Fatal("strict binding kept the session")
			}
		} else if !signedIn {
			t.Fatal("event-only binding dropped the session")
		}
	}
}

// slowStore fails every Get with the context's error after the deadline.
type slowStore struct{ store.Store }

func (s slowStore) Get(ctx context.Context, key string) (*store.Record, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// Each kind of bad input gets a defined outcome, never a panic, and the
// committed session survives it.
func TestBadInputMatrix(t *testing.T) {
	st := newMem(t)
	e := newEnv(t, st, session.Config{MaxDataSize: 1024})
	good := e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).Login("alice")
		session.From(r).Put("k", "kept")
	}, e.req("POST", "/")))
	name := e.cookie
	cookie := func(v string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", v)
		return r
	}
	fifty := make([]string, 50)
	for i := range fifty {
		fifty[i] = name + "=" + good
	}
	cases := []struct {
		name string
		req  *http.Request
		h    http.HandlerFunc
		code int
		body string
	}{
		{"oversized Cookie header", cookie(name + "=" + strings.Repeat("A", 64<<10)), whoami, 200, "user= k="},
		{"50 duplicate cookies", cookie(strings.Join(fifty, "; ")), whoami, 200, "user=alice k=kept"},
		{"invalid base64", cookie(name + "=" + strings.Repeat("*", 43)), whoami, 200, "user= k="},
		{"control bytes", cookie(name + "=" + good[:40] + "\x01\x02\x7f"), whoami, 200, "user= k="},
		{"NUL byte", cookie(name + "=" + good[:42] + "\x00"), whoami, 200, "user= k="},
		{"token too short", cookie(name + "=" + good[:42]), whoami, 200, "user= k="},
		{"token too long", cookie(name + "=" + good + good), whoami, 200, "user= k="},
		{"value over the limit", e.req("GET", "/", good), putHandler("k", strings.Repeat("x", 4096)), 413, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := e.do(c.h, c.req)
			if rec.Code != c.code || (c.body != "" && rec.Body.String() != c.body) {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), c.code, c.body)
			}
			if got := e.do(whoami, e.req("GET", "/", good)).Body.String(); got != "user=alice k=kept" {
				t.Fatalf("the committed session changed: %q", got)
			}
		})
	}
	t.Run("store timeout", func(t *testing.T) {
		slow := newEnv(t, slowStore{st}, session.Config{})
		r := slow.req("GET", "/", good)
		ctx, cancel := context.WithTimeout(r.Context(), 50*time.Millisecond)
		defer cancel()
		rec := slow.do(whoami, r.WithContext(ctx))
		if rec.Code != http.StatusServiceUnavailable || slow.ev.count(session.EventStoreError) != 1 {
			t.Fatalf("store timeout: %d", rec.Code)
		}
	})
}

// retryingStore answers like a client library that resent a write whose
// reply was lost: the first attempt went through, the second reports it
// could not.
type retryingStore struct{ store.Store }

func (s retryingStore) Rotate(ctx context.Context, oldKey string, v uint64, next *store.Record, grace time.Time) error {
	if err := s.Store.Rotate(ctx, oldKey, v, next, grace); err != nil {
		return err
	}
	if !grace.IsZero() {
		// The retried periodic rotation finds the old record a version on.
		return store.ErrConflict
	}
	return store.ErrGone
}

func (s retryingStore) Create(ctx context.Context, rec *store.Record) error {
	if err := s.Store.Create(ctx, rec); err != nil {
		return err
	}
	return store.ErrExists
}

func TestRetriedWriteThatLanded(t *testing.T) {
	mem := newMem(t)
	e := newEnv(t, retryingStore{mem}, session.Config{})
	anon := e.token(e.do(putHandler("k", "v"), e.req("GET", "/")))
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/", anon)))
	if got := e.user(tok); got != "alice" {
		t.Fatalf("sign-in through a retried rotation: %q", got)
	}
	recs, err := mem.ListUser(context.Background(), "alice")
	if err != nil || len(recs) != 1 {
		t.Fatalf("alice has %d sessions, want 1 (no orphan from the retry)", len(recs))
	}
	if e.user(anon) != "" {
		t.Fatal("the pre-login token survived")
	}
}

func (s notDurableStore) SignIn(ctx context.Context, in *store.SignIn) (store.SignedIn, error) {
	if _, err := s.Store.SignIn(ctx, in); err != nil {
		return store.SignedIn{}, err
	}
	return store.SignedIn{}, fmt.Errorf("replicas: %w", store.ErrNotDurable)
}

// notDurableStore makes every Rotate, Create and SignIn, which do land, report
// that their durability could not be confirmed.
type notDurableStore struct{ store.Store }

func (s notDurableStore) Rotate(ctx context.Context, oldKey string, v uint64, next *store.Record, grace time.Time) error {
	if err := s.Store.Rotate(ctx, oldKey, v, next, grace); err != nil {
		return err
	}
	return fmt.Errorf("replicas: %w", store.ErrNotDurable)
}

func (s notDurableStore) Create(ctx context.Context, rec *store.Record) error {
	if err := s.Store.Create(ctx, rec); err != nil {
		return err
	}
	return fmt.Errorf("replicas: %w", store.ErrNotDurable)
}

// A write the store made but could not confirm durable is a failure: the
// sign-in fails closed instead of issuing a cookie a failover may undo.
func TestNotDurableWriteFailsClosed(t *testing.T) {
	e := newEnv(t, notDurableStore{newMem(t)}, session.Config{})
	rec := e.do(loginHandler("alice"), e.req("POST", "/login"))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("sign-in with an unconfirmed write: %d, want 503", rec.Code)
	}
	if c := sessionCookie(t, rec, e.cookie); c != nil && c.Value != "" {
		t.Fatal("a cookie was issued for an unconfirmed write")
	}
}

// With no OnEvent, events go to whatever slog.Default is when they
// happen, so an application that sets its logger after New is heard.
func TestDefaultEventsFollowSlogDefault(t *testing.T) {
	m, err := session.New(newMem(t), session.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(prev)
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: inventedToken(1)})
	m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(httptest.NewRecorder(), r)
	if !strings.Contains(buf.String(), "unknown-token") || !strings.Contains(buf.String(), "level=WARN") {
		t.Fatalf("log: %q", buf.String())
	}
}

// TestTrustedProxiesGiveTheClientIP: one list of trusted proxies decides
// both what is believed of them: HTTPS (X-Forwarded-Proto) and, when
// Config.ClientIP is not set, the client's address (X-Forwarded-For). A
// client that is not behind a listed proxy cannot choose its address.
func TestTrustedProxiesGiveTheClientIP(t *testing.T) {
	cases := []struct {
		name, remote, xff, want string
		trusted                 []netip.Prefix
	}{
		{"behind a listed proxy", "10.0.0.2:1", "198.51.100.9", "198.51.100.9", mustPrefixes("10.0.0.0/8")},
		{"header from an unlisted peer", "203.0.113.5:1", "198.51.100.9", "203.0.113.5", mustPrefixes("10.0.0.0/8")},
		{"no proxies listed", "10.0.0.2:1", "198.51.100.9", "10.0.0.2", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := sessiontest.NewManager(session.Config{TrustedProxies: c.trusted})
			defer m.Close()
			h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			r := httptest.NewRequest("GET", "https://example.com/?session=x", nil)
			r.RemoteAddr = c.remote
			r.Header.Set("X-Forwarded-For", c.xff)
			h.ServeHTTP(httptest.NewRecorder(), r)
			ev, ok := m.Events.Last(session.EventTokenInURL)
			if !ok {
				t.Fatal("no token-in-url event")
			}
			if ev.ClientIP != c.want {
				t.Fatalf("client %q, want %q", ev.ClientIP, c.want)
			}
		})
	}
}
