package app

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback/loopbacktest"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/memstore"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// startApp serves an app on a loopback httptest server.
func startApp(t *testing.T, vulnerable bool, clk *testClock) (*App, string) {
	t.Helper()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	accts, err := NewAccounts([]Account{{"alice", "alice-password"}, {"bob", "bob-password"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: st, Accounts: accts, Vulnerable: vulnerable, Logger: slog.New(slog.DiscardHandler),
		Session: session.Config{OnEvent: func(session.Event) {}}}
	if clk != nil {
		cfg.Now, cfg.Session.Now = clk.Now, clk.Now
	}
	app, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	return app, srv.URL
}

func TestSecureSignInAndOut(t *testing.T) {
	_, base := startApp(t, false, nil)
	b := loopback.NewBrowser("t")
	if res := loopbacktest.Get(t, b, base+"/dashboard"); !strings.HasSuffix(res.URL, "/login?next=%2Fdashboard") {
		t.Fatalf("anonymous dashboard ended at %s", res.URL)
	}
	if res := loopbacktest.SignIn(t, b, base, "alice", "wrong"); res.Status != http.StatusUnauthorized || !strings.Contains(res.Body, "Wrong user name or password") {
		t.Fatalf("wrong password: %d", res.Status)
	}
	if res := loopbacktest.SignIn(t, b, base, "nobody", "x"); res.Status != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", res.Status)
	}
	res := loopbacktest.SignIn(t, b, base, "alice", "alice-password")
	if !strings.Contains(res.Body, "Welcome alice") || !strings.HasSuffix(res.URL, "/dashboard") {
		t.Fatalf("sign-in ended at %s: %.200s", res.URL, res.Body)
	}
	tok := b.Cookie(session.DefaultCookieName)
	if tok == "" {
		t.Fatal("no session cookie")
	}
	res = loopbacktest.Post(t, b, base+"/logout", nil)
	if !strings.Contains(res.URL, "/login?") || b.Cookie(session.DefaultCookieName) != "" {
		t.Fatal("sign-out did not clear the cookie")
	}
	replay := loopback.NewBrowser("replay")
	replay.Plant(session.DefaultCookieName, tok)
	if res := loopbacktest.Get(t, replay, base+"/dashboard"); strings.Contains(res.Body, "Welcome") {
		t.Fatal("the signed-out cookie still works")
	}
}

func TestHTMLEscapesUserInput(t *testing.T) {
	_, base := startApp(t, false, nil)
	res := loopbacktest.SignIn(t, loopback.NewBrowser("t"), base, `<script>alert(1)</script>`, "x")
	if strings.Contains(res.Body, "<script>alert") {
		t.Fatal("user name reflected unescaped")
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	_, base := startApp(t, false, nil)
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader("username=alice&password=alice-password"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d, want 403", resp.StatusCode)
	}
	if len(resp.Cookies()) != 0 {
		t.Fatal("cross-site POST set a cookie")
	}
}

func TestFailedSignInsThrottled(t *testing.T) {
	clk := &testClock{now: time.Now()}
	_, base := startApp(t, false, clk)
	b := loopback.NewBrowser("t")
	for i := range 5 {
		if res := loopbacktest.SignIn(t, b, base, "alice", "wrong"); res.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, res.Status)
		}
	}
	loopbacktest.SignIn(t, b, base, "alice", "wrong") // the sixth starts the wait
	if res := loopbacktest.SignIn(t, b, base, "alice", "alice-password"); res.Status != http.StatusTooManyRequests {
		t.Fatalf("during the wait, even the right password: %d, want 429", res.Status)
	}
	clk.advance(2 * time.Second)
	if res := loopbacktest.SignIn(t, b, base, "alice", "alice-password"); !strings.Contains(res.Body, "Welcome alice") {
		t.Fatalf("after the wait: %d", res.Status)
	}
}

func TestThrottleMemoryBound(t *testing.T) {
	th := newThrottle(1000, time.Now)
	for i := range 50_000 {
		th.fail(fmt.Sprintf("client:%d", i))
	}
	if n := th.len(); n != 1000 {
		t.Fatalf("throttle holds %d keys, bound 1000", n)
	}
}

func TestPasswordChangeNeedsRecentSignInAndSignsOutOthers(t *testing.T) {
	clk := &testClock{now: time.Now()}
	_, base := startApp(t, false, clk)
	laptop, phone := loopback.NewBrowser("laptop"), loopback.NewBrowser("phone")
	loopbacktest.SignIn(t, laptop, base, "alice", "alice-password")
	loopbacktest.SignIn(t, phone, base, "alice", "alice-password")

	clk.advance(ReauthAge + time.Minute)
	loopbacktest.Get(t, laptop, base+"/dashboard") // keep the session alive
	res := loopbacktest.Get(t, laptop, base+"/account/password")
	if !strings.Contains(res.URL, "/login?reauth=1") || !strings.Contains(res.Body, "needs a recent sign-in") {
		t.Fatalf("stale sign-in reached the password page: %s", res.URL)
	}
	// Signing in again through the re-authentication form returns to the page.
	action, err := loopback.LoginAction(res)
	if err != nil {
		t.Fatal(err)
	}
	res = loopbacktest.Post(t, laptop, action, url.Values{"username": {"alice"}, "password": {"alice-password"},
		"next": {"/account/password"}})
	if !strings.HasSuffix(res.URL, "/account/password") || !strings.Contains(res.Body, "Change password") {
		t.Fatalf("after re-authentication: %s", res.URL)
	}
	res = loopbacktest.Post(t, laptop, base+"/account/password", url.Values{"current": {"alice-password"}, "new": {"new-password-1"}})
	if !strings.Contains(res.Body, "Signed out 1 other session;") {
		t.Fatalf("password change: %.300s", res.Body)
	}
	if strings.Contains(loopbacktest.Get(t, phone, base+"/dashboard").Body, "Welcome") {
		t.Fatal("the other session survived the password change")
	}
	if !strings.Contains(loopbacktest.Get(t, laptop, base+"/dashboard").Body, "Welcome alice") {
		t.Fatal("the current session did not survive the password change")
	}
	if !strings.Contains(loopbacktest.SignIn(t, loopback.NewBrowser("x"), base, "alice", "new-password-1").Body, "Welcome alice") {
		t.Fatal("the new password does not work")
	}
}

func TestSessionsPageListsAndRevokes(t *testing.T) {
	_, base := startApp(t, false, nil)
	laptop, phone := loopback.NewBrowser("laptop"), loopback.NewBrowser("phone")
	loopbacktest.SignIn(t, laptop, base, "alice", "alice-password")
	loopbacktest.SignIn(t, phone, base, "alice", "alice-password")
	loopbacktest.SignIn(t, loopback.NewBrowser("bob"), base, "bob", "bob-password")
	page := loopbacktest.Get(t, laptop, base+"/sessions").Body
	if strings.Count(page, "<tr>") != 3 || !strings.Contains(page, "this device") || strings.Contains(page, "(bob)") {
		t.Fatalf("sessions page: %s", page)
	}
	if strings.Contains(page, laptop.Cookie(session.DefaultCookieName)) {
		t.Fatal("the sessions page shows a token")
	}
	i := strings.Index(page, `name="id" value="`)
	id := page[i+len(`name="id" value="`):]
	id = id[:strings.IndexByte(id, '"')]
	res := loopbacktest.Post(t, laptop, base+"/sessions/revoke", url.Values{"id": {id}})
	if !strings.Contains(res.Body, "Signed out that session") {
		t.Fatalf("revoke: %.300s", res.Body)
	}
	if strings.Contains(loopbacktest.Get(t, phone, base+"/dashboard").Body, "Welcome") {
		t.Fatal("revoked session still signed in")
	}
}

func TestVulnerableModeIsVulnerable(t *testing.T) {
	_, base := startApp(t, true, nil)
	victim := loopback.NewBrowser("victim")
	page := loopbacktest.Get(t, victim, base+"/login?session=attacker-chosen")
	if victim.Cookie(VulnerableCookie) != "attacker-chosen" {
		t.Fatal("the vulnerable mode did not adopt the ID from the URL")
	}
	if !strings.Contains(page.Body, `action="/login?session=attacker-chosen"`) {
		t.Fatal("the form does not carry the session in its URL")
	}
	if !strings.Contains(page.Body, "DELIBERATELY VULNERABLE") {
		t.Fatal("no warning banner")
	}
	// The redirect of a signed-out page keeps both the ID and where the
	// user was going.
	if res := loopbacktest.Get(t, loopback.NewBrowser("t"), base+"/sessions?session=abc"); !strings.HasSuffix(res.URL, "/login?next=%2Fsessions&session=abc") {
		t.Fatalf("signed-out /sessions went to %s", res.URL)
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/account/password": "/account/password", "": "", "//evil.example": "", "https://evil.example/": "",
		"/\\evil.example": "", "javascript:alert(1)": "", "relative": "", "/ok?x=1": "/ok",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNoteIsASessionWrite(t *testing.T) {
	_, base := startApp(t, false, nil)
	b := loopback.NewBrowser("t")
	loopbacktest.SignIn(t, b, base, "alice", "alice-password")
	res := loopbacktest.Post(t, b, base+"/dashboard/note", url.Values{"note": {"<b>bold</b>"}})
	if !strings.Contains(res.Body, `value="&lt;b&gt;bold&lt;/b&gt;"`) || !strings.Contains(res.Body, "saved 1 time)") {
		t.Fatalf("note not saved or not escaped: %.400s", res.Body)
	}
	loopbacktest.Post(t, b, base+"/dashboard/note", url.Values{"note": {"second"}})
	if body := loopbacktest.Get(t, b, base+"/dashboard").Body; !strings.Contains(body, `value="second"`) || !strings.Contains(body, "saved 2 times") {
		t.Fatal("second note not saved")
	}
	if res := loopbacktest.Post(t, b, base+"/dashboard/note", url.Values{"note": {strings.Repeat("x", maxNote+1)}}); res.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized note: %d", res.Status)
	}
}

// TestAppRedisClusterSpec: the cluster form of --store names its nodes,
// with or without credentials and options; a malformed list is refused.
func TestAppRedisClusterSpec(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		addrs      []string
		user, pw   string
		bad        bool
	}{
		{"two nodes", "redis-cluster://127.0.0.1:7000,127.0.0.1:7001", []string{"127.0.0.1:7000", "127.0.0.1:7001"}, "", "", false},
		{"credentials and options", "redis-cluster://app:s3cret@h1:7000,h2:7001,h3:7002/?dial_timeout=2s", []string{"h1:7000", "h2:7001", "h3:7002"}, "app", "s3cret", false},
		{"one node", "rediss-cluster://h1:7000", []string{"h1:7000"}, "", "", false},
		{"empty node", "redis-cluster://h1:7000,,h2:7001", nil, "", "", true},
		{"no nodes", "redis-cluster://", nil, "", "", true},
		{"bad option", "redis-cluster://app:s3cret@h1:7000,h2:7001/?dial_timeout=soon", nil, "", "", true},
		{"bad port", "redis-cluster://app:s3cret@h1:x,h2:7001", nil, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := parseClusterSpec(tc.spec)
			if tc.bad {
				if err == nil {
					t.Fatalf("accepted: %+v", opts.Addrs)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(opts.Addrs, " ") != strings.Join(tc.addrs, " ") || opts.Username != tc.user || opts.Password != tc.pw {
				t.Fatalf("addrs %q user %q password %q", opts.Addrs, opts.Username, opts.Password)
			}
		})
	}
}
