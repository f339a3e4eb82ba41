package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
)

// racingStore runs hook around each revocation: just before the store
// operation and just after it returns, as another request of the user
// would, renewing or rotating its session at the worst moment.
type racingStore struct {
	store.Store
	hook func(step string)
}

func (s *racingStore) RevokeUser(ctx context.Context, userID, keep string, reason store.Reason) (store.Revocation, error) {
	s.hook("before")
	rev, err := s.Store.RevokeUser(ctx, userID, keep, reason)
	s.hook("after")
	return rev, err
}

func (s *racingStore) RevokeLineage(ctx context.Context, userID, lineage string, reason store.Reason) (int, error) {
	s.hook("before")
	n, err := s.Store.RevokeLineage(ctx, userID, lineage, reason)
	s.hook("after")
	return n, err
}

func (s *racingStore) ListUser(ctx context.Context, userID string) ([]*store.Record, error) {
	recs, err := s.Store.ListUser(ctx, userID)
	s.hook("listed")
	return recs, err
}

// TestI11_RevocationCannotBeRaced: a thief holding a stolen session renews
// it (a privilege change), rotates it, or signs in again at every step of
// the victim's "sign out everywhere else", "sign out everywhere" and
// "sign out that device". Once the call returns, nothing the thief holds
// works.
func TestI11_RevocationCannotBeRaced(t *testing.T) {
	renew := func(w http.ResponseWriter, r *http.Request) { session.From(r).Renew() }
	for _, step := range []string{"before", "after", "listed"} {
		for _, revoke := range []string{"others", "all", "one"} {
			for _, move := range []string{"renew", "rotate"} {
				t.Run(step+"/"+revoke+"/"+move, func(t *testing.T) {
					clk := newClock()
					rs := &racingStore{Store: newMem(t), hook: func(string) {}}
					e := newEnv(t, rs, session.Config{Now: clk.Now, Rotation: session.RotationConfig{Every: time.Minute, Grace: 20 * time.Minute}})
					victim := e.token(e.do(loginHandler("alice"), e.req("POST", "/login")))
					thief := e.token(e.do(loginHandler("alice"), e.req("POST", "/login")))
					var (
						mu     sync.Mutex
						stolen = []string{thief}
					)
					rs.hook = func(at string) {
						if at != step {
							return
						}
						mu.Lock()
						cur := stolen[len(stolen)-1]
						mu.Unlock()
						var rec *httptest.ResponseRecorder
						if move == "renew" {
							rec = e.do(renew, e.req("GET", "/", cur))
						} else {
							clk.advance(2 * time.Minute)
							rec = e.do(whoami, e.req("GET", "/", cur))
						}
						if c := sessionCookie(t, rec, e.cookie); c != nil && c.Value != "" {
							mu.Lock()
							stolen = append(stolen, c.Value)
							mu.Unlock()
						}
					}
					switch revoke {
					case "others":
						e.do(func(w http.ResponseWriter, r *http.Request) {
							if _, err := session.From(r).RevokeOthers(r.Context(), session.EndCredentialsChanged); err != nil {
								t.Error(err)
							}
						}, e.req("POST", "/password", victim))
					case "all":
						if _, err := e.m.RevokeAll(context.Background(), "alice", session.EndCredentialsChanged); err != nil {
							t.Fatal(err)
						}
					case "one":
						var id string
						e.do(func(w http.ResponseWriter, r *http.Request) {
							infos, _ := session.From(r).Sessions(r.Context())
							for _, in := range infos {
								if !in.Current {
									id = in.ID
								}
							}
						}, e.req("GET", "/sessions", victim))
						if err := e.m.Revoke(context.Background(), "alice", id); err != nil {
							t.Fatal(err)
						}
					}
					rs.hook = func(string) {}
					mu.Lock()
					defer mu.Unlock()
					for i, tok := range stolen {
						if u := e.user(tok); u != "" {
							t.Errorf("stolen token %d of %d still signed in as %q after the revocation returned", i+1, len(stolen), u)
						}
					}
					if revoke != "all" {
						var ended session.EndReason
						e.do(func(w http.ResponseWriter, r *http.Request) { ended = session.From(r).Ended() }, e.req("GET", "/", stolen[len(stolen)-1]))
						if ended == session.EndNone {
							t.Errorf("the thief's request was given no reason")
						}
					}
				})
			}
		}
	}
}

// TestI11_RotationRetryKeepsTheClient: a client library that resends a
// periodic rotation whose reply was lost gets a conflict from the retry;
// the request must recognise its own successor, not sign the user out.
func TestI11_RotationRetryKeepsTheClient(t *testing.T) {
	clk := newClock()
	e := newEnv(t, retryingStore{newMem(t)}, session.Config{Now: clk.Now, Rotation: session.RotationConfig{Every: time.Minute}})
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/login")))
	clk.advance(2 * time.Minute)
	rec := e.do(whoami, e.req("GET", "/", tok))
	next := sessionCookie(t, rec, e.cookie)
	if next == nil || next.Value == "" {
		t.Fatalf("no rotated cookie; events %v", e.ev.all())
	}
	if u := e.user(next.Value); u != "alice" {
		t.Fatalf("after a retried rotation the new token is %q, want alice", u)
	}
}

// TestSessionLimit: past MaxSessionsPerUser, a sign-in ends the least
// recently used sessions, which are told why.
func TestSessionLimit(t *testing.T) {
	clk := newClock()
	e := newEnv(t, newMemAt(t, clk), session.Config{Now: clk.Now, MaxSessionsPerUser: 3})
	var toks []string
	for range 5 {
		// Further apart than store.SignInMargin: each sign-in is newer than
		// the sessions before it.
		clk.advance(2 * time.Second)
		toks = append(toks, e.token(e.do(loginHandler("alice"), e.req("POST", "/login"))))
	}
	infos, err := e.m.UserSessions(context.Background(), "alice")
	if err != nil || len(infos) != 3 {
		t.Fatalf("alice has %d sessions, %v; want 3", len(infos), err)
	}
	for i, tok := range toks {
		want := "alice"
		if i < 2 {
			want = ""
		}
		if u := e.user(tok); u != want {
			t.Errorf("session %d: user %q, want %q", i, u, want)
		}
	}
	var ended session.EndReason
	e.do(func(w http.ResponseWriter, r *http.Request) { ended = session.From(r).Ended() }, e.req("GET", "/", toks[0]))
	if ended != session.EndLimit || e.ev.count(session.EventLimit) != 2 {
		t.Fatalf("Ended() = %v, %d limit events; want session-limit, 2", ended, e.ev.count(session.EventLimit))
	}
}

// TestEndedReasons: a request bearing the cookie of an ended session can
// tell its user why.
func TestEndedReasons(t *testing.T) {
	clk := newClock()
	e := newEnv(t, newMem(t), session.Config{Now: clk.Now, IdleTimeout: time.Hour})
	endedFor := func(tok string) session.EndReason {
		var r session.EndReason
		e.do(func(w http.ResponseWriter, req *http.Request) { r = session.From(req).Ended() }, e.req("GET", "/", tok))
		return r
	}
	out := e.token(e.do(loginHandler("alice"), e.req("POST", "/login")))
	e.do(logoutHandler, e.req("POST", "/logout", out))
	pw := e.token(e.do(loginHandler("alice"), e.req("POST", "/login")))
	if _, err := e.m.RevokeAll(context.Background(), "alice", session.EndCredentialsChanged); err != nil {
		t.Fatal(err)
	}
	idle := e.token(e.do(loginHandler("bob"), e.req("POST", "/login")))
	live := e.token(e.do(loginHandler("carol"), e.req("POST", "/login")))
	if got := endedFor(out); got != session.EndSignedOut {
		t.Errorf("after Logout: %v", got)
	}
	if got := endedFor(pw); got != session.EndCredentialsChanged {
		t.Errorf("after RevokeAll: %v", got)
	}
	if got := endedFor(live); got != session.EndNone {
		t.Errorf("live session: %v", got)
	}
	clk.advance(2 * time.Hour)
	if got := endedFor(idle); got != session.EndTimeout {
		t.Errorf("after the idle timeout: %v", got)
	}
	if got := endedFor(inventedToken(1)); got != session.EndNone {
		t.Errorf("never issued: %v", got)
	}
	// The day-long memory of reasons: the next morning, still told.
	clk.advance(20 * time.Hour)
	if got := endedFor(out); got != session.EndSignedOut {
		t.Errorf("next morning: %v", got)
	}
}

// TestNotices: the application learns what was ignored, to tell its user.
func TestNotices(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	var got session.Notice
	note := func(w http.ResponseWriter, r *http.Request) { got = session.From(r).Notices() }
	e.do(note, e.req("GET", "/login?session=attacker"))
	if got&session.NoticeTokenInURL == 0 {
		t.Errorf("token in URL: notices %b", got)
	}
	e.do(note, e.req("GET", "/", inventedToken(3)))
	if got&session.NoticeUnknownCookie == 0 || got&session.NoticeTokenInURL != 0 {
		t.Errorf("planted cookie: notices %b", got)
	}
	e.do(note, e.req("GET", "/"))
	if got != 0 {
		t.Errorf("plain request: notices %b", got)
	}
}

// TestGuessingCountsOnlyNeverIssued: six users behind one office address
// whose sessions expired or were signed out do not put a seventh in a
// cool-down; IPv6 clients are counted per /64; a flood of new clients
// cannot release one that is refused.
func TestGuessingCountsOnlyNeverIssued(t *testing.T) {
	clk := newClock()
	e := newEnv(t, newMem(t), session.Config{Now: clk.Now, IdleTimeout: time.Minute,
		Guessing: session.GuessingConfig{Limit: 3, Window: time.Hour, Cooldown: time.Hour, Clients: 4}})
	from := func(ip string, toks ...string) *httptest.ResponseRecorder {
		r := e.req("GET", "/", toks...)
		r.RemoteAddr = ip
		return e.do(whoami, r)
	}
	var old []string
	for i := range 6 {
		tok := e.token(e.do(loginHandler(fmt.Sprint("user", i)), e.req("POST", "/login")))
		if i%2 == 0 {
			e.do(logoutHandler, e.req("POST", "/logout", tok))
		}
		old = append(old, tok)
	}
	clk.advance(2 * time.Minute)
	for _, tok := range old {
		from("192.0.2.10:1", tok)
	}
	if n := e.ev.count(session.EventTokenGuessing); n != 0 {
		t.Fatalf("expired and signed-out tokens counted as guesses: %d events", n)
	}
	// IPv6: one client rotating through its /64 is one client.
	for i := range 3 {
		from(fmt.Sprintf("[2001:db8:1:2::%x]:1", i+1), inventedToken(byte(i)))
	}
	if rec := from("[2001:db8:1:2::ff]:1", inventedToken(9)); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("a /64 after 3 guesses from different addresses: %d, want 429", rec.Code)
	}
	// Fill the table with new clients: the refused one stays refused.
	for i := range 10 {
		from(fmt.Sprintf("198.51.100.%d:1", i), inventedToken(byte(20+i)))
	}
	if rec := from("[2001:db8:1:2::1]:1", inventedToken(40)); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("after a flood of new clients the refused client got %d, want 429", rec.Code)
	}
}

type shape struct{ N int }

func init() { session.RegisterJSON[shape]("test.shape") }

// TestUndecodableValueKeepsTheSession: a value whose JSON type changed
// shape after a deploy does not lock the user out: the session loads, the
// key reports ErrUndecodable, an event says so, and the value is kept.
func TestUndecodableValueKeepsTheSession(t *testing.T) {
	mem := newMem(t)
	e := newEnv(t, mem, session.Config{})
	tok := e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.Login("alice")
		s.Put("shape", shape{N: 77})
		s.Put("k", "fine")
	}, e.req("POST", "/login")))
	// Simulate the deploy: rewrite the stored JSON so it no longer fits.
	rec, err := mem.Get(context.Background(), keyOf(tok))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal(shape{N: 77})
	bad := strings.Replace(string(rec.Data), string(good), `{"N":[]}`, 1)
	if bad == string(rec.Data) || len(good) != len(`{"N":[]}`) {
		t.Fatal("test setup: could not rewrite the value in place")
	}
	rec.Data = []byte(bad)
	if err := mem.Update(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	resp := e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		_, err := session.Value[shape](s, "shape")
		k := s.GetString("k")
		if err := s.Put("k", "still writable"); err != nil {
			t.Error(err)
		}
		fmt.Fprintf(w, "user=%s k=%s undecodable=%v", s.UserID(), k, errors.Is(err, session.ErrUndecodable))
	}, e.req("GET", "/", tok))
	if resp.Code != 200 || resp.Body.String() != "user=alice k=fine undecodable=true" {
		t.Fatalf("%d %q", resp.Code, resp.Body.String())
	}
	if e.ev.count(session.EventBadValue) != 1 {
		t.Fatal("no bad-value event")
	}
	if got := e.do(whoami, e.req("GET", "/", tok)).Body.String(); got != "user=alice k=still writable" {
		t.Fatalf("after a write: %q", got)
	}
}

// TestLoweredTimeoutsApplyToOldSessions: a session made under a longer
// idle timeout ends by the new, shorter one.
func TestLoweredTimeoutsApplyToOldSessions(t *testing.T) {
	clk := newClock()
	mem := newMem(t)
	long := newEnv(t, mem, session.Config{Now: clk.Now, IdleTimeout: 10 * time.Hour, AbsoluteTimeout: 20 * time.Hour})
	tok := long.token(long.do(loginHandler("alice"), long.req("POST", "/login")))
	short := newEnv(t, mem, session.Config{Now: clk.Now, IdleTimeout: time.Hour, AbsoluteTimeout: 2 * time.Hour})
	clk.advance(90 * time.Minute)
	if u := short.user(tok); u != "" {
		t.Fatalf("after the lowered idle timeout: %q, want signed out", u)
	}
}

// TestPlainHTTPWarning: a Secure cookie set on a plain-HTTP request for a
// host other than localhost is dropped by browsers; say so, once per host.
func TestPlainHTTPWarning(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	login := func(host, proto string) {
		r := e.req("POST", "http://"+host+"/login")
		r.RemoteAddr = "127.0.0.1:5000"
		if proto != "" {
			r.Header.Set("X-Forwarded-Proto", proto)
		}
		e.do(loginHandler("alice"), r)
	}
	login("localhost:8090", "")
	login("127.0.0.1:8090", "")
	if n := e.ev.count(session.EventInsecureCookie); n != 0 {
		t.Fatalf("warned for localhost: %d", n)
	}
	login("myapp.test:8090", "")
	login("myapp.test:8090", "")
	if n := e.ev.count(session.EventInsecureCookie); n != 1 {
		t.Fatalf("%d warnings for myapp.test, want 1", n)
	}
	// An untrusted X-Forwarded-Proto changes nothing; a trusted proxy's does.
	login("other.test", "https")
	if n := e.ev.count(session.EventInsecureCookie); n != 2 {
		t.Fatalf("untrusted X-Forwarded-Proto believed: %d warnings", n)
	}
	p := newEnv(t, newMem(t), session.Config{TrustedProxies: mustPrefixes("127.0.0.0/8")})
	r := p.req("POST", "http://proxied.test/login")
	r.RemoteAddr = "127.0.0.1:5000"
	r.Header.Set("X-Forwarded-Proto", "https")
	p.do(loginHandler("alice"), r)
	if n := p.ev.count(session.EventInsecureCookie); n != 0 {
		t.Fatalf("warned behind a trusted TLS proxy: %d", n)
	}
}

func mustPrefixes(ps ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ps))
	for i, p := range ps {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}
