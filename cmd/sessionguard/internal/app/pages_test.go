package app

import (
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback/loopbacktest"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/memstore"
)

// has reports whether body shows msg, as html/template escapes it.
func has(body, msg string) bool {
	return strings.Contains(html.UnescapeString(body), msg)
}

func TestSignInPageSaysWhyTheSessionEnded(t *testing.T) {
	clk := &testClock{now: time.Now()}
	_, base := startApp(t, false, clk)

	t.Run("revoked from another session", func(t *testing.T) {
		laptop, phone := loopback.NewBrowser("laptop"), loopback.NewBrowser("phone")
		loopbacktest.SignIn(t, laptop, base, "alice", "alice-password")
		loopbacktest.SignIn(t, phone, base, "alice", "alice-password")
		loopbacktest.Post(t, laptop, base+"/sessions/revoke-others", nil)
		res := loopbacktest.Get(t, phone, base+"/dashboard")
		if !strings.Contains(res.URL, "/login?") || !has(res.Body, endedMessages[session.EndSignedOutElsewhere]) {
			t.Fatalf("at %s: %.600s", res.URL, res.Body)
		}
	})
	t.Run("password changed elsewhere", func(t *testing.T) {
		laptop, phone := loopback.NewBrowser("laptop"), loopback.NewBrowser("phone")
		loopbacktest.SignIn(t, laptop, base, "bob", "bob-password")
		loopbacktest.SignIn(t, phone, base, "bob", "bob-password")
		loopbacktest.Post(t, laptop, base+"/account/password", url.Values{"current": {"bob-password"}, "new": {"bob-password-2"}})
		// The sign-in page itself, opened with the dead cookie, asks the
		// session layer.
		res := loopbacktest.Get(t, phone, base+"/login")
		if !has(res.Body, "You were signed out because your password was changed on another device.") {
			t.Fatalf("%.600s", res.Body)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		b := loopback.NewBrowser("idle")
		loopbacktest.SignIn(t, b, base, "alice", "alice-password")
		clk.advance(session.DefaultIdleTimeout + time.Minute)
		res := loopbacktest.Get(t, b, base+"/sessions")
		if !has(res.Body, endedMessages[session.EndTimeout]) {
			t.Fatalf("at %s: %.600s", res.URL, res.Body)
		}
	})
	t.Run("signed out", func(t *testing.T) {
		b := loopback.NewBrowser("t")
		loopbacktest.SignIn(t, b, base, "alice", "alice-password")
		res := loopbacktest.Post(t, b, base+"/logout", nil)
		if !has(res.Body, "You have signed out.") {
			t.Fatalf("at %s: %.600s", res.URL, res.Body)
		}
	})
	t.Run("a link cannot claim a reason", func(t *testing.T) {
		for _, q := range []string{"ended=credentials-changed", "ended=credentials-changed&sig=AAAAAAAAAAAAAAAA", "ended=nonsense&sig=x"} {
			res := loopbacktest.Get(t, loopback.NewBrowser("t"), base+"/login?"+q)
			if strings.Contains(res.Body, `class="info"`) {
				t.Errorf("%s: the page states a reason: %.600s", q, res.Body)
			}
		}
	})
	t.Run("a fresh visit says nothing", func(t *testing.T) {
		res := loopbacktest.Get(t, loopback.NewBrowser("t"), base+"/dashboard")
		if strings.Contains(res.Body, `class="info"`) || strings.Contains(res.Body, `class="notice"`) {
			t.Fatalf("%.600s", res.Body)
		}
	})
}

func TestPagesSayWhatWasIgnored(t *testing.T) {
	_, base := startApp(t, false, nil)
	t.Run("session ID in the link", func(t *testing.T) {
		res := loopbacktest.Get(t, loopback.NewBrowser("t"), base+"/login?session=chosen-by-the-attacker")
		if !has(res.Body, noticeLink) || has(res.Body, noticeCookie) {
			t.Fatalf("%.800s", res.Body)
		}
		// Through the redirect of a signed-out page too.
		res = loopbacktest.Get(t, loopback.NewBrowser("t"), base+"/dashboard?session=chosen-by-the-attacker")
		if !strings.Contains(res.URL, "ignored=link") || !has(res.Body, noticeLink) {
			t.Fatalf("at %s: %.800s", res.URL, res.Body)
		}
	})
	t.Run("planted cookie", func(t *testing.T) {
		b := loopback.NewBrowser("t")
		b.Plant(session.DefaultCookieName, strings.Repeat("A", 43))
		res := loopbacktest.Get(t, b, base+"/dashboard")
		if !has(res.Body, noticeCookie) || has(res.Body, noticeLink) {
			t.Fatalf("at %s: %.800s", res.URL, res.Body)
		}
		if b.Cookie(session.DefaultCookieName) != "" {
			t.Fatal("the planted cookie is still in the browser")
		}
	})
	t.Run("signed in, link with an ID", func(t *testing.T) {
		b := loopback.NewBrowser("t")
		loopbacktest.SignIn(t, b, base, "alice", "alice-password")
		res := loopbacktest.Get(t, b, base+"/dashboard?session=x")
		if !strings.Contains(res.Body, "Welcome alice") || !has(res.Body, noticeLink) {
			t.Fatalf("%.800s", res.Body)
		}
		if res := loopbacktest.Get(t, b, base+"/dashboard"); has(res.Body, noticeLink) {
			t.Fatal("the notice outlives its request")
		}
	})
}

func TestSignInReturnsWhereTheUserWasGoing(t *testing.T) {
	_, base := startApp(t, false, nil)
	b := loopback.NewBrowser("t")
	page := loopbacktest.Get(t, b, base+"/sessions")
	if !strings.HasSuffix(page.URL, "/login?next=%2Fsessions") {
		t.Fatalf("signed-out /sessions went to %s", page.URL)
	}
	action, err := loopback.LoginAction(page)
	if err != nil {
		t.Fatal(err)
	}
	// The form as served carries next.
	i := strings.Index(page.Body, `name="next" value="`)
	if i < 0 || !strings.HasPrefix(page.Body[i+len(`name="next" value="`):], `/sessions"`) {
		t.Fatalf("the form does not carry next: %.800s", page.Body)
	}
	res := loopbacktest.Post(t, b, action, url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {"/sessions"}})
	if !strings.HasSuffix(res.URL, "/sessions") || !strings.Contains(res.Body, "Where you are signed in") {
		t.Fatalf("after signing in: %s", res.URL)
	}
	// Only paths on this site; anything else goes to the dashboard.
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example"} {
		b := loopback.NewBrowser("t")
		res := loopbacktest.Post(t, b, base+"/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {next}})
		if !strings.HasSuffix(res.URL, "/dashboard") {
			t.Errorf("next=%q led to %s", next, res.URL)
		}
	}
	// A signed-out POST is not replayed as a GET after sign-in.
	req, _ := http.NewRequest("POST", base+"/dashboard/note", strings.NewReader("note=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "/login" {
		t.Fatalf("signed-out POST redirected to %q, want /login", loc)
	}
}

func TestSessionsPageShowsDevices(t *testing.T) {
	_, base := startApp(t, false, nil)
	const (
		windowsChrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
		macSafari     = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"
	)
	laptop, phone := loopback.NewBrowser("laptop"), loopback.NewBrowser("mac")
	laptop.UserAgent, phone.UserAgent = windowsChrome, macSafari
	loopbacktest.SignIn(t, laptop, base, "alice", "alice-password")
	body := loopbacktest.Get(t, laptop, base+"/sessions").Body
	if strings.Contains(body, "Sign out all other sessions") {
		t.Fatal("offers to sign out other sessions when there are none")
	}
	loopbacktest.SignIn(t, phone, base, "alice", "alice-password")
	body = loopbacktest.Get(t, laptop, base+"/sessions").Body
	for _, want := range []string{
		`title="` + html.EscapeString(windowsChrome) + `">Chrome on Windows</span>`,
		`title="` + html.EscapeString(macSafari) + `">Safari on macOS</span>`,
		"Sign out all other sessions",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("sessions page lacks %s:\n%s", want, body)
		}
	}
	res := loopbacktest.Post(t, laptop, base+"/sessions/revoke-others", nil)
	if !strings.Contains(res.Body, "Signed out 1 other session.") || strings.Contains(res.Body, "Sign out all other sessions") {
		t.Fatalf("after signing out the others: %.900s", res.Body)
	}
}

// TestSignInFailuresLoggedAndCounted checks the log and the outcomes
// reported for metrics: failures and throttling are logged with the name
// tried and the client, never the password.
func TestSignInFailuresLoggedAndCounted(t *testing.T) {
	var logBuf loopbacktest.SyncBuffer
	clk := &testClock{now: time.Now()}
	st := memstore.New(memstore.Options{})
	defer st.Close()
	accts, err := NewAccounts([]Account{{"alice", "alice-password"}})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[SignInResult]int{}
	var mu sync.Mutex
	app, err := New(Config{Store: st, Accounts: accts, Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(&logBuf, nil)),
		OnSignIn: func(r SignInResult) {
			mu.Lock()
			counts[r]++
			mu.Unlock()
		},
		Session: session.Config{Now: clk.Now, OnEvent: func(session.Event) {}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	defer srv.Close()
	b := loopback.NewBrowser("t")
	const secret = "hunter2-secret-guess"
	for range 6 {
		loopbacktest.SignIn(t, b, srv.URL, "alice", secret)
	}
	res := loopbacktest.SignIn(t, b, srv.URL, "alice", "alice-password")
	if res.Status != http.StatusTooManyRequests || !strings.Contains(res.Body, "Try again in 1 second.") {
		t.Fatalf("throttled: %d %.500s", res.Status, res.Body)
	}
	clk.advance(2 * time.Second)
	loopbacktest.SignIn(t, b, srv.URL, "alice", "alice-password")

	log := logBuf.String()
	if strings.Count(log, "sign-in failed") != 6 || strings.Count(log, "sign-in refused: too many failures") != 1 {
		t.Errorf("log:\n%s", log)
	}
	if !strings.Contains(log, "user=alice") || !strings.Contains(log, "client=127.0.0.1") {
		t.Errorf("the log does not name the account and client:\n%s", log)
	}
	if strings.Contains(log, secret) || strings.Contains(log, "alice-password") {
		t.Fatal("a password reached the log")
	}
	if counts[SignInFailed] != 6 || counts[SignInThrottled] != 1 || counts[SignInOK] != 1 {
		t.Fatalf("outcomes %v", counts)
	}
}

// TestPasswordTypedAsNameNotLogged checks the slip that puts a password in
// the user name field: the log names an unknown account by a tag that
// tells two attempts with the same name apart from others, never by the
// text typed.
func TestPasswordTypedAsNameNotLogged(t *testing.T) {
	var logBuf loopbacktest.SyncBuffer
	st := memstore.New(memstore.Options{})
	defer st.Close()
	accts, err := NewAccounts([]Account{{"alice", "alice-password"}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := New(Config{Store: st, Accounts: accts,
		Logger:  slog.New(slog.NewTextHandler(&logBuf, nil)),
		Session: session.Config{OnEvent: func(session.Event) {}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	defer srv.Close()
	const typo = "Tr0ub4dor&3-in-the-name-field"
	loopbacktest.SignIn(t, loopback.NewBrowser("a"), srv.URL, typo, "")
	loopbacktest.SignIn(t, loopback.NewBrowser("b"), srv.URL, typo, "x")
	loopbacktest.SignIn(t, loopback.NewBrowser("c"), srv.URL, "mallory", "x")
	loopbacktest.SignIn(t, loopback.NewBrowser("d"), srv.URL, "alice", "wrong")
	log := logBuf.String()
	if strings.Contains(log, typo) || strings.Contains(log, "Tr0ub4dor") {
		t.Fatalf("the text typed as a user name reached the log:\n%s", log)
	}
	if strings.Contains(log, "mallory") {
		t.Errorf("an unknown user name reached the log:\n%s", log)
	}
	if !strings.Contains(log, "user=alice") {
		t.Errorf("a known account is not named:\n%s", log)
	}
	tags := regexp.MustCompile(`unknown_user=([0-9a-f]+)`).FindAllStringSubmatch(log, -1)
	if len(tags) != 3 || tags[0][1] != tags[1][1] || tags[0][1] == tags[2][1] {
		t.Errorf("unknown names are not tagged one tag per name: %q\n%s", tags, log)
	}
}
