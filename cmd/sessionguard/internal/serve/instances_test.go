package serve

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback"
	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback/loopbacktest"
	"github.com/sessionguard/sessionguard/internal/testsupport/pgtest"
	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
)

// The flags every instance of TestInstancesBehindProxy runs with: a short
// rotation, so that rotations happen while the test runs, and a bound of
// two sessions per user.
const (
	rotateEvery = 400 * time.Millisecond
	rotateGrace = 400 * time.Millisecond
)

var instanceAccounts = []string{"alice:alice-password", "bob:bob-password", "carol:carol-password", "dave:dave-password"}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// sessionguardBinary builds the command once per test binary run.
func sessionguardBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sessionguard-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "sessionguard")
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = err
			return
		}
		out, err := exec.Command(goTool, "build", "-o", builtBin, "github.com/sessionguard/sessionguard/cmd/sessionguard").CombinedOutput()
		if err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("building sessionguard: %v", buildErr)
	}
	return builtBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// instanceArgs are the flags of an instance of TestInstancesBehindProxy.
func instanceArgs(spec string) []string {
	args := []string{"--store", spec, "--rotate-every", rotateEvery.String(), "--rotate-grace", rotateGrace.String(), "--max-sessions", "2"}
	for _, a := range instanceAccounts {
		args = append(args, "--account", a)
	}
	return args
}

// startInstance runs `sessionguard serve` with args on a free loopback
// port, with the key set in $SESSIONGUARD_KEYS, and returns its base URL
// once it serves, and its process. It is stopped with SIGTERM when t ends.
func startInstance(t *testing.T, bin, keys string, args ...string) (string, *os.Process) {
	t.Helper()
	spec := strings.Join(args, " ")
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), KeysEnv+"="+keys)
	var stderr loopbacktest.SyncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("serve did not stop on SIGTERM:\n%s", stderr.String())
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if i := strings.Index(sc.Text(), "http://"); i >= 0 && strings.Contains(sc.Text(), "serving the reference app") {
				found <- strings.TrimSuffix(sc.Text()[i:], "/")
			}
		}
	}()
	select {
	case base := <-found:
		return base, cmd.Process
	case <-time.After(15 * time.Second):
		t.Fatalf("serve %s did not start:\n%s", spec, stderr.String())
		return "", nil
	}
}

// roundRobin is a reverse proxy that sends each request to the next
// instance in turn, as a load balancer without session affinity does (a
// round-robin Rewrite, the successor of a Director).
func roundRobin(t *testing.T, bases []string) string {
	t.Helper()
	var targets []*url.URL
	for _, b := range bases {
		u, err := url.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, u)
	}
	var next atomic.Uint64
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(targets[(next.Add(1)-1)%uint64(len(targets))])
		r.Out.Host = r.In.Host // the instances see the address the browser used
	}}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestInstancesBehindProxy runs three `sessionguard serve` processes on
// one store behind a round-robin proxy, on Redis, on a Redis Cluster and
// on PostgreSQL, with one key set given through $SESSIONGUARD_KEYS. Every
// request of a browser may reach any instance: a sign-in, a sign-out, a
// revocation, a password change, a rotation and the session bound must
// take effect on every instance at once, and the reason a session ended,
// like the notes of the Sessions page, shows whichever instance answers.
func TestInstancesBehindProxy(t *testing.T) {
	bin := sessionguardBinary(t)
	keys := newKey(t) + "," + newKey(t)
	stores := []struct {
		name string
		spec func(t *testing.T) string
	}{
		{"redis", func(t *testing.T) string { return "redis://" + redistest.Start(t).Addr + "/0" }},
		{"redis-cluster", func(t *testing.T) string {
			c := redistest.StartCluster(t, 3)
			durable(t, c.Addrs)
			return "redis-cluster://" + strings.Join(c.Addrs, ",")
		}},
		{"postgres", func(t *testing.T) string { return pgtest.Start(t, "fsync=off").URL("postgres") }},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			spec := st.spec(t)
			var insts []string
			for range 3 { // one after the other: each creates the table on PostgreSQL
				base, _ := startInstance(t, bin, keys, instanceArgs(spec)...)
				insts = append(insts, base)
			}
			c := cluster{t: t, proxy: roundRobin(t, insts), insts: insts}
			c.signInAndOut()
			c.notices()
			c.revoke()
			c.passwordChange()
			c.rotation()
			c.bound()
		})
	}
}

// durable turns on what serve's cluster form requires of every primary,
// which redistest's nodes run without: appendonly yes, appendfsync always.
func durable(t *testing.T, addrs []string) {
	t.Helper()
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		for _, kv := range [][2]string{{"appendonly", "yes"}, {"appendfsync", "always"}} {
			if err := c.ConfigSet(context.Background(), kv[0], kv[1]).Err(); err != nil {
				t.Fatalf("CONFIG SET %s %s on %s: %v", kv[0], kv[1], a, err)
			}
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// cluster drives instances through the proxy and checks each directly.
type cluster struct {
	t     *testing.T
	proxy string
	insts []string
}

// signedIn reports whether b is signed in at base (its dashboard loads).
func signedIn(t *testing.T, b *loopback.Browser, base string) bool {
	res := loopbacktest.Get(t, b, base+"/dashboard")
	return res.Status == http.StatusOK && strings.HasSuffix(res.URL, "/dashboard")
}

// onEvery checks that the session token is signed in (or not) on every
// instance, asked directly, each with a fresh browser holding the token.
func (c *cluster) onEvery(what, token string, want bool) {
	c.t.Helper()
	for i, base := range c.insts {
		b := loopback.NewBrowser("check")
		b.Plant(session.DefaultCookieName, token)
		if got := signedIn(c.t, b, base); got != want {
			c.t.Errorf("%s: signed in on instance %d: %v, want %v", what, i, got, want)
		}
	}
}

// signIn signs b in as user through the proxy.
func (c *cluster) signIn(b *loopback.Browser, user string) string {
	c.t.Helper()
	res := loopbacktest.SignIn(c.t, b, c.proxy, user, user+"-password")
	if !strings.HasSuffix(res.URL, "/dashboard") {
		c.t.Fatalf("sign-in of %s ended at %s", user, res.URL)
	}
	return b.Cookie(session.DefaultCookieName)
}

// endedShown loads the dashboard through the proxy with b's dead session
// and checks that the sign-in page it lands on (on the next instance)
// says why the session ended.
func (c *cluster) endedShown(what string, b *loopback.Browser, why session.EndReason) {
	c.t.Helper()
	res := loopbacktest.Get(c.t, b, c.proxy+"/dashboard")
	if !strings.Contains(res.URL, "/login") || !has(res.Body, endedText[why]) {
		c.t.Errorf("%s: at %s, the page does not say %q: %.400s", what, res.URL, endedText[why], pageMain(res.Body))
	}
}

// endedText are the app's texts for the reasons the test causes.
var endedText = map[session.EndReason]string{
	session.EndSignedOut:          "You have signed out.",
	session.EndSignedOutElsewhere: "You were signed out from another of your sessions",
	session.EndCredentialsChanged: "You were signed out because your password was changed on another device.",
	session.EndLimit:              "You were signed out because your account is signed in on too many devices",
	session.EndReuse:              "You were signed out because your session was used from two places at once",
}

func (c *cluster) signInAndOut() {
	b := loopback.NewBrowser("alice")
	token := c.signIn(b, "alice")
	for i := range 2 * len(c.insts) {
		if !signedIn(c.t, b, c.proxy) {
			c.t.Fatalf("sign-in not honoured on request %d through the proxy", i)
		}
	}
	c.onEvery("after sign-in", b.Cookie(session.DefaultCookieName), true)
	res := loopbacktest.Post(c.t, b, c.proxy+"/logout", nil)
	if !has(res.Body, endedText[session.EndSignedOut]) {
		c.t.Errorf("sign-out: the next instance does not say so: %.400s", pageMain(res.Body))
	}
	c.onEvery("after sign-out, the first token", token, false)
}

// notices: what the session layer ignored in a request is told by the
// sign-in page the next instance serves after the redirect.
func (c *cluster) notices() {
	for _, tc := range []struct{ name, path, cookie, text string }{
		{"session ID in the link", "/dashboard?session=chosen-by-the-attacker", "",
			"A session ID in the link you followed was ignored"},
		{"planted cookie", "/dashboard", strings.Repeat("A", 43),
			"Your browser sent a session cookie this site does not know"},
	} {
		b := loopback.NewBrowser("visitor")
		if tc.cookie != "" {
			b.Plant(session.DefaultCookieName, tc.cookie)
		}
		res := loopbacktest.Get(c.t, b, c.proxy+tc.path)
		if !strings.Contains(res.URL, "/login") || !has(res.Body, tc.text) {
			c.t.Errorf("%s: at %s, the page does not say %q: %.400s", tc.name, res.URL, tc.text, pageMain(res.Body))
		}
	}
}

var revokeID = regexp.MustCompile(`name="id" value="([^"]+)"`)

func (c *cluster) revoke() {
	laptop, phone := loopback.NewBrowser("laptop"), loopback.NewBrowser("phone")
	c.signIn(laptop, "bob")
	c.signIn(phone, "bob")
	page := loopbacktest.Get(c.t, laptop, c.proxy+"/sessions")
	m := revokeID.FindStringSubmatch(page.Body)
	if m == nil {
		c.t.Fatalf("no other session to revoke: %.600s", pageMain(page.Body))
	}
	token := phone.Cookie(session.DefaultCookieName)
	res := loopbacktest.Post(c.t, laptop, c.proxy+"/sessions/revoke", url.Values{"id": {m[1]}})
	if !has(res.Body, "Signed out that session.") {
		c.t.Errorf("revoke: the next instance does not say so: %.400s", pageMain(res.Body))
	}
	c.endedShown("revoked", phone, session.EndSignedOutElsewhere)
	c.onEvery("after revocation, the revoked token", token, false)
	c.onEvery("after revocation, the revoking session", laptop.Cookie(session.DefaultCookieName), true)
}

func (c *cluster) passwordChange() {
	laptop, phone := loopback.NewBrowser("laptop"), loopback.NewBrowser("phone")
	c.signIn(laptop, "carol")
	c.signIn(phone, "carol")
	token := phone.Cookie(session.DefaultCookieName)
	res := loopbacktest.Post(c.t, laptop, c.proxy+"/account/password",
		url.Values{"current": {"carol-password"}, "new": {"carol-password-2"}})
	if !has(res.Body, "Signed out 1 other session") {
		c.t.Fatalf("password change: %.400s", pageMain(res.Body))
	}
	c.endedShown("password changed", phone, session.EndCredentialsChanged)
	c.onEvery("after a password change, the other token", token, false)
	c.onEvery("after a password change, the changing session", laptop.Cookie(session.DefaultCookieName), true)
}

// rotation: a rotated session is honoured by every instance under its new
// token; its old token, presented after the grace window once the new one
// has been used, is a replay (two parties hold the session), and the
// whole session ends on every instance at once.
func (c *cluster) rotation() {
	b := loopback.NewBrowser("rotating")
	first := c.signIn(b, "alice")
	time.Sleep(rotateEvery + 100*time.Millisecond)
	if !signedIn(c.t, b, c.proxy) {
		c.t.Fatal("rotation: signed out")
	}
	if b.Cookie(session.DefaultCookieName) == first {
		c.t.Fatalf("no rotation after %v", rotateEvery+100*time.Millisecond)
	}
	for i, base := range c.insts {
		if !signedIn(c.t, b, base) {
			c.t.Fatalf("rotation: the new token is not honoured on instance %d", i)
		}
	}
	time.Sleep(rotateGrace + 200*time.Millisecond)
	current := b.Cookie(session.DefaultCookieName)
	replay := loopback.NewBrowser("replay")
	replay.Plant(session.DefaultCookieName, first)
	if signedIn(c.t, replay, c.insts[1]) {
		c.t.Error("rotation: the old token works after its grace window")
	}
	c.endedShown("old token replayed", b, session.EndReuse)
	c.onEvery("after a replay of the old token, the session's token", current, false)
}

func (c *cluster) bound() {
	var bs []*loopback.Browser
	var tokens []string
	for i := range 3 {
		// A sign-in never ends a session used within store.SignInMargin
		// before its request began (it could be a concurrent sign-in of
		// the same person): devices sign in as people do, not within a
		// quarter of a second of each other.
		time.Sleep(store.SignInMargin + 100*time.Millisecond)
		b := loopback.NewBrowser("device" + string(rune('a'+i)))
		tokens = append(tokens, c.signIn(b, "dave"))
		bs = append(bs, b)
	}
	c.onEvery("past the bound, the oldest session", tokens[0], false)
	c.endedShown("past the bound", bs[0], session.EndLimit)
	c.onEvery("past the bound, the newest session", bs[2].Cookie(session.DefaultCookieName), true)
}

// has reports whether body shows msg, as html/template escapes it.
func has(body, msg string) bool {
	return strings.Contains(strings.ReplaceAll(body, "&#39;", "'"), msg)
}

// pageMain is the part of a page after its style sheet, for messages.
func pageMain(body string) string {
	if i := strings.Index(body, "<main>"); i >= 0 {
		return body[i:]
	}
	return body
}
