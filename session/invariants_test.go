package session_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
)

func keyOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// inventedToken is a well-formed token the server never issued.
func inventedToken(seed byte) string {
	var b [32]byte
	for i := range b {
		b[i] = seed + byte(i)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// The attack of the threat model, end to end: the attacker obtains a valid
// anonymous token by visiting the site (or invents one), plants it in the
// victim's browser, the victim signs in, and the attacker uses the token.
func TestI3_FixationAttackDefeated(t *testing.T) {
	for _, how := range []string{"obtained by visiting", "invented"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, newMem(t), session.Config{})
			var planted string
			if how == "invented" {
				planted = inventedToken(7)
			} else {
				planted = e.token(e.do(putHandler("cart", "1"), e.req("GET", "/")))
			}
			// The victim's browser now sends the planted cookie and signs in.
			login := e.do(loginHandler("victim"), e.req("POST", "/login", planted))
			victim := e.token(login)
			if victim == planted {
				t.Fatal("login kept the planted token")
			}
			if got := e.user(victim); got != "victim" {
				t.Fatalf("victim's new token signs in as %q", got)
			}
			// The attacker replays the planted token: anonymous.
			if got := e.user(planted); got != "" {
				t.Fatalf("HIJACKED: the planted token signs in as %q", got)
			}
			if _, err := e.store.Get(context.Background(), keyOf(planted)); err == nil {
				t.Fatal("the planted token's record is still live after login")
			}
		})
	}
}

// The same attack through a URL: ?session=TOKEN and ;jsessionid=TOKEN are
// ignored (I2), so the victim's sign-in cannot be bound to the attacker's ID.
func TestI2_TokenInURLIgnored(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	attacker := e.token(e.do(putHandler("x", "y"), e.req("GET", "/")))
	targets := []string{
		"/login?session=" + attacker,
		"/login?" + url.QueryEscape(e.cookie) + "=" + attacker,
		"/login;jsessionid=" + attacker,
		"/login?PHPSESSID=" + attacker,
	}
	for _, target := range targets {
		t.Run(target[:16], func(t *testing.T) {
			before := e.ev.count(session.EventTokenInURL)
			login := e.do(loginHandler("victim"), e.req("POST", target))
			if tok := e.token(login); tok == attacker {
				t.Fatal("login adopted the token from the URL")
			}
			if e.ev.count(session.EventTokenInURL) != before+1 {
				t.Fatal("no token-in-url event")
			}
			if got := e.user(attacker); got != "" {
				t.Fatalf("attacker's token signs in as %q", got)
			}
		})
	}
}

// Form fields and headers are not session carriers either.
func TestI2_TokenOnlyFromCookie(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	name := e.cookie
	cases := map[string]*http.Request{
		"form field": func() *http.Request {
			r := httptest.NewRequest("POST", "/", strings.NewReader(url.Values{name: {tok}, "session": {tok}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}(),
		"authorization header": func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			return r
		}(),
		"custom header": func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set(name, tok)
			r.Header.Set("X-Session-Id", tok)
			return r
		}(),
		"cookie of another name": func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(&http.Cookie{Name: "sid", Value: tok})
			return r
		}(),
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			if body := e.do(whoami, r).Body.String(); !strings.HasPrefix(body, "user= ") {
				t.Fatalf("request without the session cookie was signed in: %q", body)
			}
		})
	}
	if got := e.user(tok); got != "alice" {
		t.Fatalf("the cookie itself should work, got %q", got)
	}
}

func TestI1_UnknownTokenNeverAdopted(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	invented := inventedToken(1)
	rec := e.do(putHandler("k", "v"), e.req("GET", "/", invented))
	issued := e.token(rec)
	if issued == invented {
		t.Fatal("the invented token was adopted")
	}
	if e.ev.count(session.EventUnknownToken) != 1 {
		t.Fatalf("want one unknown-token event, got %d", e.ev.count(session.EventUnknownToken))
	}
	if _, err := e.store.Get(context.Background(), keyOf(invented)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("store holds the invented token: %v", err)
	}
	// A request with the invented token that writes nothing creates nothing;
	// the response expires the worthless cookie.
	if c := sessionCookie(t, e.do(whoami, e.req("GET", "/", invented)), e.cookie); c == nil || c.Value != "" || c.MaxAge >= 0 {
		t.Fatalf("a read-only request with an unknown token: cookie %v, want it expired", c)
	}
}

func TestI1_MalformedCookies(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	good := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	cases := map[string]string{
		"empty":             "",
		"short":             good[:20],
		"long":              good + "A",
		"padding":           good + "=",
		"std alphabet":      strings.Repeat("+", 43),
		"non-canonical end": good[:42] + "B", // may or may not be canonical; must not be good
		"nul byte":          good[:42] + "\x00",
		"spaces":            " " + good[1:],
		"unicode":           strings.Repeat("é", 21) + "a",
		"huge":              strings.Repeat("A", 8000),
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", e.cookie+"="+v)
			rec := e.do(whoami, r)
			if rec.Code != 200 || rec.Body.String() != "user= k=" {
				t.Fatalf("got %d %q, want an anonymous 200", rec.Code, rec.Body.String())
			}
		})
	}
}

func TestI1_ExpiredTokenIsAnonymous(t *testing.T) {
	clk := newClock()
	e := newEnv(t, newMem(t), session.Config{Now: clk.Now, IdleTimeout: time.Minute, AbsoluteTimeout: time.Hour})
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	clk.advance(2 * time.Minute)
	if got := e.user(tok); got != "" {
		t.Fatalf("idle-expired token signs in as %q", got)
	}
	if e.ev.count(session.EventExpiredToken) == 0 && e.ev.count(session.EventUnknownToken) == 0 {
		t.Fatal("no event for the expired token")
	}
}

// Cookie tossing: a sibling subdomain plants a second cookie of the same
// name. None is honoured unless exactly one is valid.
func TestI1_DuplicateCookies(t *testing.T) {
	st := &faultStore{Store: newMem(t)}
	e := newEnv(t, st, session.Config{})
	alice := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	mallory := e.token(e.do(loginHandler("mallory"), e.req("POST", "/")))

	t.Run("one valid, one invented", func(t *testing.T) {
		before := e.ev.count(session.EventDuplicateCookie)
		if got := e.user(inventedToken(3), alice); got != "alice" {
			t.Fatalf("got %q, want the single valid session", got)
		}
		if e.ev.count(session.EventDuplicateCookie) != before+1 {
			t.Fatal("no duplicate-cookie event")
		}
	})
	t.Run("two valid", func(t *testing.T) {
		if got := e.user(mallory, alice); got != "" {
			t.Fatalf("two live sessions in one request: honoured %q", got)
		}
		if got := e.user(alice, mallory); got != "" {
			t.Fatalf("two live sessions in one request: honoured %q", got)
		}
	})
	t.Run("same token twice", func(t *testing.T) {
		if got := e.user(alice, alice); got != "alice" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("fifty cookies cost a bounded number of lookups", func(t *testing.T) {
		toks := []string{alice}
		for i := range 49 {
			toks = append(toks, inventedToken(byte(10+i)))
		}
		before := st.gets.Load()
		if got := e.user(toks...); got != "" {
			t.Fatalf("honoured %q among 50 cookies", got)
		}
		if n := st.gets.Load() - before; n > 3 {
			t.Fatalf("50 duplicate cookies caused %d store lookups", n)
		}
	})
}

func TestI3_LoginRenewsAndKillsOldToken(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	anon := e.token(e.do(putHandler("k", "cart"), e.req("GET", "/")))
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/login", anon)))
	if tok == anon {
		t.Fatal("token unchanged by login")
	}
	if body := e.do(whoami, e.req("GET", "/", tok)).Body.String(); body != "user=alice k=" {
		t.Fatalf("after login: %q (nothing of the anonymous session carries over unless named, I13)", body)
	}
	if _, err := e.store.Get(context.Background(), keyOf(anon)); !errors.Is(err, store.ErrGone) {
		t.Fatalf("old record: %v, want ErrGone", err)
	}
	// The old token cannot write to or bring back the old record, and a
	// write through it creates no session: its cookie would overwrite the
	// signed-in one in the browser.
	if c := sessionCookie(t, e.do(putHandler("k", "evil"), e.req("GET", "/", anon)), e.cookie); c != nil {
		t.Fatalf("a write through the renewed-away token set a cookie %q", c.String())
	}
	if _, err := e.store.Get(context.Background(), keyOf(anon)); !errors.Is(err, store.ErrGone) {
		t.Fatalf("old record after a write with the old token: %v", err)
	}
	if body := e.do(whoami, e.req("GET", "/", tok)).Body.String(); body != "user=alice k=" {
		t.Fatalf("new session changed by the old token: %q", body)
	}
	if e.ev.count(session.EventDeadToken) == 0 {
		t.Fatal("no dead-token event for the replayed pre-login token")
	}
}

func TestI3_RenewKeepsUserValuesAndAuthTime(t *testing.T) {
	clk := newClock()
	e := newEnv(t, newMem(t), session.Config{Now: clk.Now})
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	e.do(putHandler("k", "v"), e.req("GET", "/", tok))
	clk.advance(time.Minute)
	var authBefore time.Time
	renewed := e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		authBefore = s.AuthTime()
		if err := s.Renew(); err != nil {
			t.Error(err)
		}
	}, e.req("POST", "/", tok)))
	if renewed == tok {
		t.Fatal("Renew kept the token")
	}
	if got := e.user(tok); got != "" {
		t.Fatalf("old token after Renew signs in as %q", got)
	}
	var authAfter time.Time
	body := e.do(func(w http.ResponseWriter, r *http.Request) {
		authAfter = session.From(r).AuthTime()
		whoami(w, r)
	}, e.req("GET", "/", renewed)).Body.String()
	if body != "user=alice k=v" {
		t.Fatalf("after Renew: %q", body)
	}
	if !authAfter.Equal(authBefore) {
		t.Fatalf("Renew changed the sign-in time: %v -> %v", authBefore, authAfter)
	}
	if e.ev.count(session.EventRenewed) != 1 {
		t.Fatal("no renewed event")
	}
}

func TestI3_UserSwitchCarriesNothingOver(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	alice := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	e.do(putHandler("k", "alice-secret"), e.req("GET", "/", alice))
	bob := e.token(e.do(loginHandler("bob"), e.req("POST", "/", alice)))
	if body := e.do(whoami, e.req("GET", "/", bob)).Body.String(); body != "user=bob k=" {
		t.Fatalf("bob's session: %q", body)
	}
	if got := e.user(alice); got != "" {
		t.Fatalf("alice's token after the switch: %q", got)
	}
}

// Hundreds of requests carrying the old token race a Login (and a Logout);
// none of them may see the new state or revive the old record.
func TestI3_RaceOldTokenAcrossLoginAndLogout(t *testing.T) {
	for _, step := range []string{"login", "logout"} {
		t.Run(step, func(t *testing.T) {
			for round := range 20 {
				e := newEnv(t, newMem(t), session.Config{})
				old := e.token(e.do(putHandler("k", "0"), e.req("GET", "/")))
				if step == "logout" {
					old = e.token(e.do(loginHandler("alice"), e.req("POST", "/", old)))
				}
				const n = 200
				var wg sync.WaitGroup
				var mu sync.Mutex
				var leaks []string
				start := make(chan struct{})
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						e.do(func(w http.ResponseWriter, r *http.Request) {
							s := session.From(r)
							if step == "login" && s.UserID() != "" {
								mu.Lock()
								leaks = append(leaks, s.UserID())
								mu.Unlock()
							}
							s.Put(fmt.Sprintf("k%d", i), "x")
						}, e.req("GET", "/", old))
					}()
				}
				var newTok string
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if step == "login" {
						newTok = e.token(e.do(loginHandler("alice"), e.req("POST", "/login", old)))
					} else {
						e.do(logoutHandler, e.req("POST", "/logout", old))
					}
				}()
				close(start)
				wg.Wait()
				if len(leaks) > 0 {
					t.Fatalf("round %d: %d requests with the pre-login token saw user %q", round, len(leaks), leaks[0])
				}
				if _, err := e.store.Get(context.Background(), keyOf(old)); err == nil {
					t.Fatalf("round %d: the old record is live after %s", round, step)
				}
				if got := e.user(old); got != "" {
					t.Fatalf("round %d: old token signs in as %q", round, got)
				}
				if step == "login" {
					if got := e.user(newTok); got != "alice" {
						t.Fatalf("round %d: new token is %q", round, got)
					}
				}
			}
		})
	}
}

var tokenShape = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func TestI4_TokensAndStoreKeys(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	seen := map[string]bool{}
	for range 200 {
		tok := e.token(e.do(putHandler("k", "v"), e.req("GET", "/")))
		if !tokenShape.MatchString(tok) {
			t.Fatalf("token %q is not 43 base64url characters", tok)
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %q does not decode to 32 bytes", tok)
		}
		if seen[tok] {
			t.Fatal("token issued twice")
		}
		seen[tok] = true
		rec, err := e.store.Get(context.Background(), keyOf(tok))
		if err != nil {
			t.Fatalf("store has no record under SHA-256(token): %v", err)
		}
		blob, _ := rec.MarshalBinary()
		if strings.Contains(string(blob), tok) {
			t.Fatal("the store record contains the token")
		}
	}
	for _, ev := range e.ev.all() {
		s := fmt.Sprintf("%+v", ev)
		for tok := range seen {
			if strings.Contains(s, tok) {
				t.Fatalf("event %s holds a token", ev.Kind)
			}
		}
	}
}

func TestI5_IdleAndAbsoluteTimeouts(t *testing.T) {
	clk := newClock()
	e := newEnv(t, newMem(t), session.Config{Now: clk.Now, IdleTimeout: 10 * time.Minute, AbsoluteTimeout: time.Hour})
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	// Activity every 9 minutes keeps the session alive until the absolute
	// deadline, and not a moment longer.
	for elapsed := 9 * time.Minute; elapsed < time.Hour; elapsed += 9 * time.Minute {
		clk.advance(9 * time.Minute)
		if got := e.user(tok); got != "alice" {
			t.Fatalf("after %v of activity: %q", elapsed, got)
		}
	}
	clk.advance(9 * time.Minute)
	if got := e.user(tok); got != "" {
		t.Fatalf("past the absolute timeout: %q", got)
	}

	tok = e.token(e.do(loginHandler("bob"), e.req("POST", "/")))
	clk.advance(10*time.Minute + time.Second)
	if got := e.user(tok); got != "" {
		t.Fatalf("past the idle timeout: %q", got)
	}
}

func TestI5_TouchWritesThrottled(t *testing.T) {
	clk := newClock()
	st := &faultStore{Store: newMem(t)}
	e := newEnv(t, st, session.Config{Now: clk.Now, IdleTimeout: 30 * time.Minute, TouchInterval: time.Minute})
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	before := st.updates.Load()
	for range 100 {
		clk.advance(time.Second)
		if e.user(tok) != "alice" {
			t.Fatal("signed out")
		}
	}
	// 100 s of read-only traffic: one refresh per minute at most.
	if n := st.updates.Load() - before; n < 1 || n > 2 {
		t.Fatalf("100 read-only requests over 100s made %d store writes, want 1..2", n)
	}
}

func TestI5_RememberMe(t *testing.T) {
	clk := newClock()
	e := newEnv(t, newMem(t), session.Config{Now: clk.Now})
	rec := e.do(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).Login("alice", session.RememberMe())
	}, e.req("POST", "/"))
	c := sessionCookie(t, rec, e.cookie)
	if c.MaxAge <= 0 || c.Expires.IsZero() {
		t.Fatalf("remember-me cookie is not persistent: %+v", c)
	}
	if want := int(session.DefaultRememberAbsoluteTimeout.Seconds()); c.MaxAge != want {
		t.Fatalf("Max-Age %d, want %d", c.MaxAge, want)
	}
	clk.advance(2 * 24 * time.Hour) // past the normal timeouts
	if got := e.user(c.Value); got != "alice" {
		t.Fatalf("remembered session after two days: %q", got)
	}
	clk.advance(8 * 24 * time.Hour) // past the remember idle timeout
	if got := e.user(c.Value); got != "" {
		t.Fatalf("remembered session after 8 idle days: %q", got)
	}
}

func TestI6_LogoutIsServerSide(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{ClearSiteDataOnLogout: true})
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	rec := e.do(logoutHandler, e.req("POST", "/logout", tok))
	c := sessionCookie(t, rec, e.cookie)
	if c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("logout did not expire the cookie: %+v", c)
	}
	if got := rec.Header().Get("Clear-Site-Data"); !strings.Contains(got, `"cookies"`) {
		t.Fatalf("Clear-Site-Data = %q", got)
	}
	if got := e.user(tok); got != "" {
		t.Fatalf("replayed cookie after logout signs in as %q", got)
	}
	if _, err := e.store.Get(context.Background(), keyOf(tok)); !errors.Is(err, store.ErrGone) {
		t.Fatalf("record after logout: %v, want ErrGone", err)
	}
	if e.ev.count(session.EventLogout) != 1 {
		t.Fatal("no logout event")
	}
}

func TestI7_CookieDefaults(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	rec := e.do(loginHandler("alice"), e.req("POST", "/"))
	raw := rec.Header().Get("Set-Cookie")
	for _, want := range []string{"__Host-sid=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(raw, want) {
			t.Errorf("Set-Cookie %q lacks %s", raw, want)
		}
	}
	for _, bad := range []string{"Domain", "Max-Age", "Expires"} {
		if strings.Contains(raw, bad) {
			t.Errorf("Set-Cookie %q has %s", raw, bad)
		}
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	if !strings.Contains(strings.Join(rec.Header().Values("Vary"), ","), "Cookie") {
		t.Errorf("no Vary: Cookie")
	}
}

func TestI7_ConfigRejected(t *testing.T) {
	cases := map[string]struct {
		cfg   session.Config
		field string
	}{
		"__Host- with Domain":          {session.Config{Cookie: session.CookieConfig{Domain: "example.com"}}, "Cookie.Domain"},
		"__Host- with Path":            {session.Config{Cookie: session.CookieConfig{Path: "/app"}}, "Cookie.Path"},
		"__Host- without Secure":       {session.Config{Cookie: session.CookieConfig{Name: "__Host-x", InsecureWithoutSecure: true}}, "Cookie.InsecureWithoutSecure"},
		"__Secure- without Secure":     {session.Config{Cookie: session.CookieConfig{Name: "__Secure-x", InsecureWithoutSecure: true}}, "Cookie.InsecureWithoutSecure"},
		"SameSite=None without Secure": {session.Config{Cookie: session.CookieConfig{Name: "sid", InsecureWithoutSecure: true, SameSite: http.SameSiteNoneMode}}, "Cookie.SameSite"},
		"absolute < idle":              {session.Config{IdleTimeout: time.Hour, AbsoluteTimeout: time.Minute}, "AbsoluteTimeout"},
		"negative idle":                {session.Config{IdleTimeout: -time.Second}, "IdleTimeout"},
		"touch >= idle/2":              {session.Config{IdleTimeout: time.Minute, TouchInterval: 30 * time.Second}, "TouchInterval"},
		"bad cookie name":              {session.Config{Cookie: session.CookieConfig{Name: "a b"}}, "Cookie.Name"},
		"remember shorter":             {session.Config{RememberAbsoluteTimeout: time.Hour}, "RememberAbsoluteTimeout"},
		"negative max data":            {session.Config{MaxDataSize: -1}, "MaxDataSize"},
		"__HOST- with Domain":          {session.Config{Cookie: session.CookieConfig{Name: "__HOST-sid", Domain: "example.com"}}, "Cookie.Domain"},
		"__secure- without Secure":     {session.Config{Cookie: session.CookieConfig{Name: "__secure-sid", InsecureWithoutSecure: true}}, "Cookie.InsecureWithoutSecure"},
		"grace without rotation":       {session.Config{Rotation: session.RotationConfig{Grace: time.Second}}, "Rotation.Grace"},
		"cool-down with detection off": {session.Config{Guessing: session.GuessingConfig{Limit: -1, Cooldown: time.Minute}}, "Guessing"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := session.New(newMem(t), c.cfg)
			if !errors.Is(err, session.ErrConfig) || !strings.Contains(err.Error(), "Config."+c.field) {
				t.Fatalf("New: %v, want an ErrConfig naming %s", err, c.field)
			}
		})
	}
	if _, err := session.New(nil, session.Config{}); !errors.Is(err, session.ErrConfig) {
		t.Fatalf("nil store: %v", err)
	}
}

func TestI7_InsecureDevelopmentOptIn(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{Cookie: session.CookieConfig{InsecureWithoutSecure: true}})
	raw := e.do(loginHandler("alice"), e.req("POST", "/")).Header().Get("Set-Cookie")
	if strings.Contains(raw, "Secure") || !strings.HasPrefix(raw, "sid=") || !strings.Contains(raw, "HttpOnly") {
		t.Fatalf("insecure development cookie: %q", raw)
	}
}

// Two requests load the same version and change different keys: both
// changes survive.
func TestI8_ConcurrentChangesMerge(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	loaded := make(chan struct{}, 2)
	proceed := make(chan struct{})
	var wg sync.WaitGroup
	for _, key := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.do(func(w http.ResponseWriter, r *http.Request) {
				loaded <- struct{}{}
				<-proceed
				session.From(r).Put(key, "set-by-"+key)
			}, e.req("GET", "/", tok))
		}()
	}
	<-loaded
	<-loaded
	close(proceed)
	wg.Wait()
	var a, b string
	e.do(func(w http.ResponseWriter, r *http.Request) {
		a, b = session.From(r).GetString("a"), session.From(r).GetString("b")
	}, e.req("GET", "/", tok))
	if a != "set-by-a" || b != "set-by-b" {
		t.Fatalf("lost update: a=%q b=%q", a, b)
	}
	if e.ev.count(session.EventMerged) == 0 {
		t.Fatal("no merged event")
	}
}

// A request that loaded the session before a logout cannot write it back.
func TestI8_NoResurrectionAfterLogout(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	loaded := make(chan struct{})
	proceed := make(chan struct{})
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		done <- e.do(func(w http.ResponseWriter, r *http.Request) {
			close(loaded)
			<-proceed
			session.From(r).Put("k", "late")
			session.From(r).Renew()
		}, e.req("GET", "/", tok))
	}()
	<-loaded
	e.do(logoutHandler, e.req("POST", "/logout", tok))
	close(proceed)
	rec := <-done
	if c := sessionCookie(t, rec, e.cookie); c != nil && c.MaxAge >= 0 {
		t.Fatalf("the late request issued a cookie %q", c.Value)
	}
	if got := e.user(tok); got != "" {
		t.Fatalf("session revived: %q", got)
	}
	if recs, _ := e.store.ListUser(context.Background(), "alice"); len(recs) != 0 {
		t.Fatalf("alice has %d live sessions after logout", len(recs))
	}
	if e.ev.count(session.EventWriteDropped) != 1 {
		t.Fatal("no write-dropped event")
	}
}

func TestI9_StoreFailureFailsClosed(t *testing.T) {
	st := &faultStore{Store: newMem(t)}
	e := newEnv(t, st, session.Config{})
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))

	t.Run("load", func(t *testing.T) {
		st.failGet.Store(true)
		defer st.failGet.Store(false)
		called := false
		rec := e.do(func(w http.ResponseWriter, r *http.Request) { called = true }, e.req("GET", "/", tok))
		if rec.Code != http.StatusServiceUnavailable || called {
			t.Fatalf("code %d, handler called %v; want 503 without the handler", rec.Code, called)
		}
		if sessionCookie(t, rec, e.cookie) != nil {
			t.Fatal("a failed load set a cookie")
		}
	})
	t.Run("commit", func(t *testing.T) {
		st.failUpdate.Store(true)
		defer st.failUpdate.Store(false)
		rec := e.do(func(w http.ResponseWriter, r *http.Request) {
			session.From(r).Put("k", "v")
			w.Header().Set("X-Handler", "1")
			w.Write([]byte("handler body"))
		}, e.req("GET", "/", tok))
		if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "handler") || rec.Header().Get("X-Handler") != "" {
			t.Fatalf("got %d %q; want the error handler's 503 only", rec.Code, rec.Body.String())
		}
	})
	t.Run("login", func(t *testing.T) {
		st.failSignIn.Store(true)
		defer st.failSignIn.Store(false)
		rec := e.do(loginHandler("alice"), e.req("POST", "/", tok))
		if rec.Code != http.StatusServiceUnavailable || sessionCookie(t, rec, e.cookie) != nil {
			t.Fatalf("failed rotation: %d, cookie %v", rec.Code, rec.Header().Get("Set-Cookie"))
		}
		if got := e.user(tok); got != "alice" {
			t.Fatalf("committed session lost by a failed login: %q", got)
		}
	})
	t.Run("corrupt record", func(t *testing.T) {
		bad := e.token(e.do(putHandler("k", "v"), e.req("GET", "/")))
		r, _ := e.store.Get(context.Background(), keyOf(bad))
		r.Data = []byte{0x56, 0xff}
		if err := e.store.Update(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		rec := e.do(putHandler("k", "overwrite"), e.req("GET", "/", bad))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("corrupt record: %d, want 503", rec.Code)
		}
		if r2, _ := e.store.Get(context.Background(), keyOf(bad)); string(r2.Data) != string(r.Data) {
			t.Fatal("the corrupt record was overwritten")
		}
	})
	t.Run("custom handler", func(t *testing.T) {
		var got error
		e2 := newEnv(t, st, session.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			w.WriteHeader(599)
		}})
		st.failGet.Store(true)
		defer st.failGet.Store(false)
		if rec := e2.do(whoami, e2.req("GET", "/", tok)); rec.Code != 599 || !errors.Is(got, session.ErrStore) {
			t.Fatalf("code %d, err %v", rec.Code, got)
		}
		if e2.ev.count(session.EventStoreError) != 1 {
			t.Fatal("no store-error event")
		}
	})
}

func TestNoSessionNoStoreWrite(t *testing.T) {
	st := &faultStore{Store: newMem(t)}
	e := newEnv(t, st, session.Config{})
	for i := range 1000 {
		rec := e.do(whoami, e.req("GET", fmt.Sprintf("/page/%d", i)))
		if rec.Header().Get("Set-Cookie") != "" {
			t.Fatal("a request that stored nothing got a cookie")
		}
	}
	if n := st.creates.Load() + st.updates.Load() + st.gets.Load(); n != 0 {
		t.Fatalf("1000 cookie-less read-only requests made %d store calls", n)
	}
	// Put then Delete in one request stores nothing either.
	rec := e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.Put("k", "v")
		s.Delete("k")
	}, e.req("GET", "/"))
	if rec.Header().Get("Set-Cookie") != "" || st.creates.Load() != 0 {
		t.Fatal("an empty session was stored")
	}
}

func TestI9_TooLargeRefused(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{MaxDataSize: 1024})
	tok := e.token(e.do(putHandler("k", "small"), e.req("GET", "/")))
	rec := e.do(putHandler("k", strings.Repeat("x", 2000)), e.req("GET", "/", tok))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized values: %d, want 413", rec.Code)
	}
	if body := e.do(whoami, e.req("GET", "/", tok)).Body.String(); body != "user= k=small" {
		t.Fatalf("committed value lost: %q", body)
	}
}

func TestPanickingHandlerCommitsNothing(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	tok := e.token(e.do(putHandler("k", "before"), e.req("GET", "/")))
	func() {
		defer func() { recover() }()
		e.do(func(w http.ResponseWriter, r *http.Request) {
			session.From(r).Put("k", "during-crash")
			panic("boom")
		}, e.req("GET", "/", tok))
	}()
	if body := e.do(whoami, e.req("GET", "/", tok)).Body.String(); body != "user= k=before" {
		t.Fatalf("after a crashed request: %q", body)
	}
}

// A cookie that can never work again is expired by the response, except a
// dead one: a dead token usually means a parallel request just renewed the
// session, and expiring the cookie could delete the new one in the browser.
func TestStaleCookieExpired(t *testing.T) {
	clk := newClock()
	e := newEnv(t, newMem(t), session.Config{Now: clk.Now, IdleTimeout: time.Minute, AbsoluteTimeout: time.Hour})
	name := e.cookie
	old := e.token(e.do(putHandler("k", "v"), e.req("GET", "/")))
	e.token(e.do(loginHandler("alice"), e.req("POST", "/", old)))
	if c := sessionCookie(t, e.do(whoami, e.req("GET", "/", old)), name); c != nil {
		t.Fatalf("a dead token's response touched the cookie: %v", c)
	}
	expiring := e.token(e.do(loginHandler("bob"), e.req("POST", "/")))
	clk.advance(2 * time.Minute)
	for what, tok := range map[string]string{"unknown": inventedToken(9), "expired": expiring} {
		c := sessionCookie(t, e.do(whoami, e.req("GET", "/", tok)), name)
		if c == nil || c.MaxAge >= 0 {
			t.Errorf("%s token: cookie %v, want it expired", what, c)
		}
	}
	// A response that creates a session replaces the cookie instead.
	c := sessionCookie(t, e.do(putHandler("k", "v"), e.req("GET", "/", inventedToken(9))), name)
	if c == nil || c.MaxAge < 0 || c.Value == "" {
		t.Fatalf("new session over a stale cookie: %v", c)
	}
}

// TestI13_NoDataFixation: an attacker who prepared the anonymous session
// (through any endpoint that writes to it) chooses nothing of the signed-in
// session, unless the application names the value with Carry.
func TestI13_NoDataFixation(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	prepared := e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.Put("csrf", "attacker-known")
		s.Put("return_to", "https://evil.example/")
		s.Put("cart", "1 book")
	}, e.req("GET", "/")))
	read := func(tok string) string {
		return e.do(func(w http.ResponseWriter, r *http.Request) {
			s := session.From(r)
			fmt.Fprintf(w, "csrf=%s return_to=%s cart=%s", s.GetString("csrf"), s.GetString("return_to"), s.GetString("cart"))
		}, e.req("GET", "/", tok)).Body.String()
	}
	plain := e.token(e.do(loginHandler("alice"), e.req("POST", "/login", prepared)))
	if got := read(plain); got != "csrf= return_to= cart=" {
		t.Fatalf("after Login: %q, want nothing carried over", got)
	}

	prepared = e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.Put("csrf", "attacker-known")
		s.Put("cart", "1 book")
	}, e.req("GET", "/")))
	carried := e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := s.Login("alice", session.Carry("cart")); err != nil {
			t.Error(err)
		}
		s.Put("csrf", "fresh")
	}, e.req("POST", "/login", prepared)))
	if got := read(carried); got != "csrf=fresh return_to= cart=1 book" {
		t.Fatalf("after Login with Carry(cart): %q", got)
	}
}
