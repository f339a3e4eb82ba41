package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

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

func signIn(t *testing.T, b *browser, base, user, pw string) *response {
	t.Helper()
	res, err := b.do(context.Background(), "POST", base+"/login", url.Values{"username": {user}, "password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func get(t *testing.T, b *browser, u string) *response {
	t.Helper()
	res, err := b.do(context.Background(), "GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func post(t *testing.T, b *browser, u string, form url.Values) *response {
	t.Helper()
	res, err := b.do(context.Background(), "POST", u, form)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSecureSignInAndOut(t *testing.T) {
	_, base := startApp(t, false, nil)
	b := newBrowser("t")
	if res := get(t, b, base+"/dashboard"); !strings.HasSuffix(res.URL, "/login?next=%2Fdashboard") {
		t.Fatalf("anonymous dashboard ended at %s", res.URL)
	}
	if res := signIn(t, b, base, "alice", "wrong"); res.Status != http.StatusUnauthorized || !strings.Contains(res.Body, "Wrong user name or password") {
		t.Fatalf("wrong password: %d", res.Status)
	}
	if res := signIn(t, b, base, "nobody", "x"); res.Status != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", res.Status)
	}
	res := signIn(t, b, base, "alice", "alice-password")
	if !strings.Contains(res.Body, "Welcome alice") || !strings.HasSuffix(res.URL, "/dashboard") {
		t.Fatalf("sign-in ended at %s: %.200s", res.URL, res.Body)
	}
	tok := b.cookie(session.DefaultCookieName)
	if tok == "" {
		t.Fatal("no session cookie")
	}
	res = post(t, b, base+"/logout", nil)
	if !strings.Contains(res.URL, "/login?") || b.cookie(session.DefaultCookieName) != "" {
		t.Fatal("sign-out did not clear the cookie")
	}
	replay := newBrowser("replay")
	replay.plant(session.DefaultCookieName, tok)
	if res := get(t, replay, base+"/dashboard"); strings.Contains(res.Body, "Welcome") {
		t.Fatal("the signed-out cookie still works")
	}
}

func TestHTMLEscapesUserInput(t *testing.T) {
	_, base := startApp(t, false, nil)
	res := signIn(t, newBrowser("t"), base, `<script>alert(1)</script>`, "x")
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
	b := newBrowser("t")
	for i := range 5 {
		if res := signIn(t, b, base, "alice", "wrong"); res.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, res.Status)
		}
	}
	signIn(t, b, base, "alice", "wrong") // the sixth starts the wait
	if res := signIn(t, b, base, "alice", "alice-password"); res.Status != http.StatusTooManyRequests {
		t.Fatalf("during the wait, even the right password: %d, want 429", res.Status)
	}
	clk.advance(2 * time.Second)
	if res := signIn(t, b, base, "alice", "alice-password"); !strings.Contains(res.Body, "Welcome alice") {
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
	laptop, phone := newBrowser("laptop"), newBrowser("phone")
	signIn(t, laptop, base, "alice", "alice-password")
	signIn(t, phone, base, "alice", "alice-password")

	clk.advance(ReauthAge + time.Minute)
	get(t, laptop, base+"/dashboard") // keep the session alive
	res := get(t, laptop, base+"/account/password")
	if !strings.Contains(res.URL, "/login?reauth=1") || !strings.Contains(res.Body, "needs a recent sign-in") {
		t.Fatalf("stale sign-in reached the password page: %s", res.URL)
	}
	// Signing in again through the re-authentication form returns to the page.
	action, err := loginAction(res)
	if err != nil {
		t.Fatal(err)
	}
	res = post(t, laptop, action, url.Values{"username": {"alice"}, "password": {"alice-password"},
		"next": {"/account/password"}})
	if !strings.HasSuffix(res.URL, "/account/password") || !strings.Contains(res.Body, "Change password") {
		t.Fatalf("after re-authentication: %s", res.URL)
	}
	res = post(t, laptop, base+"/account/password", url.Values{"current": {"alice-password"}, "new": {"new-password-1"}})
	if !strings.Contains(res.Body, "Signed out 1 other session;") {
		t.Fatalf("password change: %.300s", res.Body)
	}
	if strings.Contains(get(t, phone, base+"/dashboard").Body, "Welcome") {
		t.Fatal("the other session survived the password change")
	}
	if !strings.Contains(get(t, laptop, base+"/dashboard").Body, "Welcome alice") {
		t.Fatal("the current session did not survive the password change")
	}
	if !strings.Contains(signIn(t, newBrowser("x"), base, "alice", "new-password-1").Body, "Welcome alice") {
		t.Fatal("the new password does not work")
	}
}

func TestSessionsPageListsAndRevokes(t *testing.T) {
	_, base := startApp(t, false, nil)
	laptop, phone := newBrowser("laptop"), newBrowser("phone")
	signIn(t, laptop, base, "alice", "alice-password")
	signIn(t, phone, base, "alice", "alice-password")
	signIn(t, newBrowser("bob"), base, "bob", "bob-password")
	page := get(t, laptop, base+"/sessions").Body
	if strings.Count(page, "<tr>") != 3 || !strings.Contains(page, "this device") || strings.Contains(page, "(bob)") {
		t.Fatalf("sessions page: %s", page)
	}
	if strings.Contains(page, laptop.cookie(session.DefaultCookieName)) {
		t.Fatal("the sessions page shows a token")
	}
	i := strings.Index(page, `name="id" value="`)
	id := page[i+len(`name="id" value="`):]
	id = id[:strings.IndexByte(id, '"')]
	res := post(t, laptop, base+"/sessions/revoke", url.Values{"id": {id}})
	if !strings.Contains(res.Body, "Signed out that session") {
		t.Fatalf("revoke: %.300s", res.Body)
	}
	if strings.Contains(get(t, phone, base+"/dashboard").Body, "Welcome") {
		t.Fatal("revoked session still signed in")
	}
}

func TestVulnerableModeIsVulnerable(t *testing.T) {
	_, base := startApp(t, true, nil)
	victim := newBrowser("victim")
	page := get(t, victim, base+"/login?session=attacker-chosen")
	if victim.cookie(VulnerableCookie) != "attacker-chosen" {
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
	if res := get(t, newBrowser("t"), base+"/sessions?session=abc"); !strings.HasSuffix(res.URL, "/login?next=%2Fsessions&session=abc") {
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

func TestDemoOutcome(t *testing.T) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"--format", "json"}, &out, &errb, Options{})
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errb.String())
	}
	var rep struct {
		Expected bool `json:"expected"`
		Runs     []struct {
			App      string `json:"app"`
			Hijacked bool   `json:"hijacked"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Expected || len(rep.Runs) != 2 || rep.Runs[0].App != "vulnerable" || !rep.Runs[0].Hijacked ||
		rep.Runs[1].App != "secure" || rep.Runs[1].Hijacked {
		t.Fatalf("demo report: %+v", rep)
	}
	out.Reset()
	if code := Run(context.Background(), nil, &out, &errb, Options{}); code != 0 ||
		!strings.Contains(out.String(), "As expected: the vulnerable app was hijacked, the secure app was not.") {
		t.Fatalf("text demo exit %d: %s", code, out.String())
	}
}

func TestServeMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- Serve(ctx, []string{"--addr", "127.0.0.1:0", "--store", "memory", "--metrics", "127.0.0.1:0", "--account", "a:b"}, &out, &errb)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "serving the reference app") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s %s", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var appURL, metricsURL string
	for _, line := range strings.Split(out.String(), "\n") {
		if i := strings.Index(line, "http://"); i >= 0 {
			u := strings.TrimSuffix(line[i:], "/")
			if strings.Contains(line, "metrics on") {
				metricsURL = u
			} else {
				appURL = u
			}
		}
	}
	b := newBrowser("t")
	b.plant(session.DefaultCookieName, strings.Repeat("A", 43))
	get(t, b, appURL+"/dashboard") // its response expires the bad cookie, so the redirect goes without it
	signIn(t, b, appURL, "a", "wrong")
	signIn(t, b, appURL, "a", "b")
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	for _, want := range []string{`sessionguard_events_total{kind="unknown-token"} 1`, `sessionguard_store_seconds_count{op="get",result="not_found"} 1`,
		`sessionguard_demo_signins_total{result="failed"} 1`, `sessionguard_demo_signins_total{result="ok"} 1`,
		`sessionguard_demo_signins_total{result="throttled"} 0`, "sessionguard_active_sessions 1"} {
		if !strings.Contains(body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
}

func TestServeRunsAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- Serve(ctx, []string{"--addr", "127.0.0.1:0", "--store", "memory", "--vulnerable", "--account", "a:b"}, &out, &errb)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "serving the reference app") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s %s", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(errb.String(), "DELIBERATELY VULNERABLE MODE") {
		t.Fatal("no loud warning in vulnerable mode")
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestNoteIsASessionWrite(t *testing.T) {
	_, base := startApp(t, false, nil)
	b := newBrowser("t")
	signIn(t, b, base, "alice", "alice-password")
	res := post(t, b, base+"/dashboard/note", url.Values{"note": {"<b>bold</b>"}})
	if !strings.Contains(res.Body, `value="&lt;b&gt;bold&lt;/b&gt;"`) || !strings.Contains(res.Body, "saved 1 time)") {
		t.Fatalf("note not saved or not escaped: %.400s", res.Body)
	}
	post(t, b, base+"/dashboard/note", url.Values{"note": {"second"}})
	if body := get(t, b, base+"/dashboard").Body; !strings.Contains(body, `value="second"`) || !strings.Contains(body, "saved 2 times") {
		t.Fatal("second note not saved")
	}
	if res := post(t, b, base+"/dashboard/note", url.Values{"note": {strings.Repeat("x", maxNote+1)}}); res.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized note: %d", res.Status)
	}
}
