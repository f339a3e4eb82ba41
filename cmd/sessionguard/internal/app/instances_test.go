package app

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback"
	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback/loopbacktest"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/memstore"
)

// testKeys returns a fresh random key set.
func testKeys(t *testing.T) *session.Keys {
	t.Helper()
	k := make([]byte, session.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	keys, err := session.NewKeys(k)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// startInstances serves len(keys) apps on one store behind a round-robin
// handler: each request goes to the next instance. keys[i] is instance
// i's key set (nil: none given, the app makes its own).
func startInstances(t *testing.T, clk *testClock, log *loopbacktest.SyncBuffer, keys ...*session.Keys) string {
	t.Helper()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	accts, err := NewAccounts([]Account{{"alice", "alice-password"}, {"bob", "bob-password"}})
	if err != nil {
		t.Fatal(err)
	}
	var apps []*App
	for _, k := range keys {
		cfg := Config{Store: st, Accounts: accts, Logger: slog.New(slog.NewTextHandler(log, nil)),
			Session: session.Config{OnEvent: func(session.Event) {}, Keys: k}}
		if clk != nil {
			cfg.Now, cfg.Session.Now = clk.Now, clk.Now
		}
		a, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		apps = append(apps, a)
	}
	var next atomic.Uint64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apps[next.Add(1)%uint64(len(apps))].ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestAppSessionsPageShowsNoTextFromTheURL: no page shows text a link
// chose, whatever parameter carries it.
func TestAppSessionsPageShowsNoTextFromTheURL(t *testing.T) {
	_, base := startApp(t, false, nil)
	b := loopback.NewBrowser("t")
	loopbacktest.SignIn(t, b, base, "alice", "alice-password")
	const bait = "Call +1-555-0100 to restore your account"
	for _, tc := range []struct{ name, path string }{
		{"msg on sessions", "/sessions?msg=" + url.QueryEscape(bait)},
		{"note on sessions", "/sessions?note=" + url.QueryEscape(bait)},
		{"msg on dashboard", "/dashboard?msg=" + url.QueryEscape(bait)},
		{"msg on password", "/account/password?msg=" + url.QueryEscape(bait)},
		{"ended on login", "/login?ended=" + url.QueryEscape(bait)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := loopbacktest.Get(t, b, base+tc.path)
			if has(res.Body, "+1-555") {
				t.Fatalf("%s shows text from the URL: %.800s", tc.path, res.Body)
			}
		})
	}
}

// TestAppInstancesShareKeys: instances given one key set honour each
// other's signed notices and tag unknown user names alike; instances with
// their own keys do not, which is why serve needs a shared key.
func TestAppInstancesShareKeys(t *testing.T) {
	shared := testKeys(t)
	// A rotation in three steps: the new key added second everywhere,
	// then moved first instance by instance, then the old one removed.
	k1, k2 := make([]byte, session.KeySize), make([]byte, session.KeySize)
	if _, err := rand.Read(k1); err != nil {
		t.Fatal(err)
	}
	if _, err := rand.Read(k2); err != nil {
		t.Fatal(err)
	}
	keys := func(k ...[]byte) *session.Keys {
		s, err := session.NewKeys(k[0], k[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		name         string
		keys         []*session.Keys
		shared, tags bool // messages honoured across instances; log tags alike
	}{
		{"one key set", []*session.Keys{shared, shared}, true, true},
		{"rotation, new key added second", []*session.Keys{keys(k1), keys(k1, k2)}, true, true},
		{"rotation, new key first on one instance", []*session.Keys{keys(k1, k2), keys(k2, k1)}, true, false},
		{"rotation, old key removed on one instance", []*session.Keys{keys(k2, k1), keys(k2)}, true, true},
		{"own keys", []*session.Keys{testKeys(t), testKeys(t)}, false, false},
		{"no keys given", []*session.Keys{nil, nil}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log loopbacktest.SyncBuffer
			base := startInstances(t, nil, &log, tc.keys...)
			// Sign-out: the redirect to /login lands on the other instance.
			b := loopback.NewBrowser("t")
			loopbacktest.SignIn(t, b, base, "alice", "alice-password")
			res := loopbacktest.Post(t, b, base+"/logout", nil)
			if got := has(res.Body, endedMessages[session.EndSignedOut]); got != tc.shared {
				t.Errorf("sign-out reason shown: %v, want %v: %.600s", got, tc.shared, res.Body)
			}
			// A revocation's notice on /sessions, shown by the other instance.
			laptop, phone := loopback.NewBrowser("laptop"), loopback.NewBrowser("phone")
			loopbacktest.SignIn(t, laptop, base, "bob", "bob-password")
			loopbacktest.SignIn(t, phone, base, "bob", "bob-password")
			res = loopbacktest.Post(t, laptop, base+"/sessions/revoke-others", nil)
			if got := has(res.Body, "Signed out 1 other session."); got != tc.shared {
				t.Errorf("revocation notice shown: %v, want %v: %.600s", got, tc.shared, res.Body)
			}
			// One unknown name, tried on both instances.
			loopbacktest.SignIn(t, loopback.NewBrowser("a"), base, "mallory", "x")
			loopbacktest.SignIn(t, loopback.NewBrowser("b"), base, "mallory", "x")
			tags := regexp.MustCompile(`unknown_user=([0-9a-f]+)`).FindAllStringSubmatch(log.String(), -1)
			if len(tags) != 2 {
				t.Fatalf("tags %q", tags)
			}
			if got := tags[0][1] == tags[1][1]; got != tc.tags {
				t.Errorf("one name tagged alike on both instances: %v, want %v", got, tc.tags)
			}
		})
	}
}

// TestAppSignedNoticesExpire: a notice link captured once cannot be
// handed to others later, and a notice of one kind does not pass for
// another.
func TestAppSignedNoticesExpire(t *testing.T) {
	clk := &testClock{now: time.Now()}
	app, base := startApp(t, false, clk)
	b := loopback.NewBrowser("t")
	loopbacktest.SignIn(t, b, base, "alice", "alice-password")
	fresh := app.seal(purposeSessionsNote, "others:3")
	ended := app.seal(purposeEnded, session.EndCredentialsChanged.String())
	for _, tc := range []struct {
		name, path, text string
		age              time.Duration
		shown            bool
	}{
		{"fresh sessions note", "/sessions?note=" + fresh, "Signed out 3 other sessions.", 0, true},
		{"fresh end reason", "/login?ended=" + ended, endedMessages[session.EndCredentialsChanged], 0, true},
		{"end reason as a sessions note", "/sessions?note=" + ended, "other session", 0, false},
		{"sessions note as an end reason", "/login?ended=" + fresh, "signed out", 0, false},
		{"old sessions note", "/sessions?note=" + fresh, "Signed out 3 other sessions.", noticeMaxAge + time.Minute, false},
		{"old end reason", "/login?ended=" + ended, endedMessages[session.EndCredentialsChanged], noticeMaxAge + time.Minute, false},
		{"tampered note", "/sessions?note=" + strings.Replace(fresh, "others:3", "others:9", 1), "Signed out 9", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.advance(tc.age)
			defer clk.advance(-tc.age)
			res := loopbacktest.Get(t, b, base+tc.path)
			if got := has(res.Body, tc.text); got != tc.shown {
				t.Fatalf("%q shown: %v, want %v: %.800s", tc.text, got, tc.shown, res.Body)
			}
		})
	}
}

// TestAppSessionsPageThisDeviceFirst: the session of the device looking is
// listed first, whatever was used last, and every time names its zone.
func TestAppSessionsPageThisDeviceFirst(t *testing.T) {
	clk := &testClock{now: time.Now().UTC()}
	_, base := startApp(t, false, clk)
	names := []string{"laptop", "phone", "tablet"}
	var browsers []*loopback.Browser
	for _, n := range names {
		b := loopback.NewBrowser(n)
		loopbacktest.SignIn(t, b, base, "alice", "alice-password")
		browsers = append(browsers, b)
		clk.advance(2 * time.Minute)
	}
	for i, b := range browsers {
		t.Run(names[i], func(t *testing.T) {
			// This device touches its session, then another device is used
			// later, within the touch interval of this one: this device is
			// not the last used when it lists the sessions.
			clk.advance(2 * time.Minute)
			loopbacktest.Get(t, b, base+"/dashboard")
			clk.advance(20 * time.Second)
			loopbacktest.Get(t, browsers[(i+1)%len(browsers)], base+"/dashboard")
			res := loopbacktest.Get(t, b, base+"/sessions")
			rows := regexp.MustCompile(`(?s)<tr>\s*<td>.*?</tr>`).FindAllString(res.Body, -1)
			if len(rows) != 3 {
				t.Fatalf("%d rows at %s: %.3000s", len(rows), res.URL, res.Body)
			}
			if !strings.Contains(rows[0], "this device") {
				t.Errorf("first row is not this device: %s", rows[0])
			}
			times := regexp.MustCompile(`\d{2}:\d{2}:\d{2} ([A-Z]{2,5}|[+-]\d{2,4})<`).FindAllString(strings.Join(rows, ""), -1)
			if len(times) != 6 {
				t.Errorf("times with their zone: %q in %s", times, strings.Join(rows, "\n"))
			}
		})
	}
}
