// Package auditbrowser signs in through a real browser for [audit.Run]:
// headless Chromium driven with chromedp, for applications whose login
// form is built by script (single-page applications) or whose sign-in
// depends on what scripts do, with or without a <form>: the user and
// password inputs are found as a password manager finds them (type,
// autocomplete, labels, placeholder, position), typed into key by key, and
// the button next to them is pressed. Set [audit.Target].SignIn to a
// [*Driver].
//
// Only the sign-ins run in the browser; every other request of the audit,
// the attacker's among them, is plain HTTP with the browser's cookies. The
// browser obeys the audit's rules:
//
//   - from the first navigation to the end of a sign-in, every request to
//     an origin (scheme, host and port) other than the login page's, the
//     target's and those of [audit.Target].AllowOrigins fails before
//     anything is sent: scripts, images, beacons, prefetches and
//     WebSockets alike. Requests are paused and judged in the browser, and
//     the browser runs behind a proxy of the driver that refuses any other
//     connection (WebSockets, connections the network stack opens by
//     itself); WebRTC may use no UDP, so it cannot go round the proxy. The
//     report lists the blocked origins with a count, never what the
//     requests carried; a sign-in that cannot work without them stops
//     with the reason (could not audit);
//   - [Driver].AllowLoadFrom names origins the login page may load
//     scripts, style sheets and fonts from (a CDN) without being trusted
//     with the password: nothing else goes there, and from the moment
//     typing starts nothing at all (open connections to them are cut).
//     AllowOrigins, by contrast, trusts an origin with everything the
//     page sends, the password included;
//   - a request carrying the password in its URL, on any origin, is
//     failed and the sign-in stops with an error wrapping
//     [audit.ErrUnsafeSignIn];
//   - [audit.Target].Header is added to the requests to the target's
//     origin only, never to an allowed sign-in service;
//   - [Driver].Proxy routes the browser's connections on through that
//     proxy (the loopback addresses included); [Driver].Insecure makes it
//     accept any certificate. A private CA (audit.Target.RootCAs) cannot be
//     handed to Chromium, which reads its trust store from its NSS
//     database: [Driver.Check] refuses it with a clear error;
//   - one Chromium serves the sign-ins of a driver, started on the first
//     with a fresh profile directory (removed by [Driver.Close]) and
//     --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
//     --disable-background-networking --disable-component-update
//     --disable-sync; each sign-in runs in a browser context of its own
//     (its own cookies and cache, as another person's browser).
//
// The importers of package audit do not link chromedp: only this package
// and the sessionguard command do.
package auditbrowser

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sessionguard/sessionguard/audit"
)

// ErrNoChromium is returned when no Chromium can be found.
var ErrNoChromium = errors.New("no Chromium found")

// Driver signs in through headless Chromium. The zero value finds
// Chromium on PATH.
type Driver struct {
	// Chrome is the browser to run. Default: chromium, chromium-browser,
	// google-chrome or google-chrome-stable on PATH.
	Chrome string
	// Proxy, if set, routes every request of the browser through it
	// (http://, https:// or socks5://).
	Proxy *url.URL
	// Insecure makes the browser accept any TLS certificate.
	Insecure bool
	// Wait bounds the wait for the login form to appear and, after
	// submitting it, for the page to leave it. Default 15s.
	Wait time.Duration
	// AllowLoadFrom lists origins (scheme://host[:port]) the login page
	// may load scripts, style sheets and fonts from until typing starts,
	// without being trusted with anything typed. Default: none; every
	// other origin than the login page's, the target's and
	// audit.Target.AllowOrigins is blocked.
	AllowLoadFrom []string

	mu      sync.Mutex
	browser context.Context // the running browser, once started
	proxy   *originProxy
	stop    func()
}

// start starts the browser shared by the sign-ins of this driver.
func (d *Driver) start(path string) (context.Context, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.browser != nil {
		return d.browser, nil
	}
	profile, err := os.MkdirTemp("", "sessionguard-chromium-")
	if err != nil {
		return nil, fmt.Errorf("a profile directory for the browser: %w", err)
	}
	if err := writePreferences(profile); err != nil {
		os.RemoveAll(profile)
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("password-store", "basic"),
	}
	guardProxy, err := newOriginProxy(d.Proxy)
	if err != nil {
		os.RemoveAll(profile)
		return nil, err
	}
	opts = append(opts, chromedp.ProxyServer("http://"+guardProxy.addr),
		// Chromium sends loopback addresses past the proxy unless told.
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		// WebRTC may not open UDP outside the proxy, which refuses it.
		chromedp.Flag("force-webrtc-ip-handling-policy", "disable_non_proxied_udp"),
		chromedp.Flag("dns-prefetch-disable", true))
	if d.Insecure {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors", true))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(browserCtx, chromedp.Navigate("about:blank")); err != nil {
		cancelBrowser()
		cancelAlloc()
		guardProxy.close()
		os.RemoveAll(profile)
		return nil, fmt.Errorf("%w: starting the browser (%s): %v", audit.ErrUnreachable, path, err)
	}
	d.browser, d.proxy = browserCtx, guardProxy
	d.stop = func() {
		cancelBrowser()
		cancelAlloc() // waits for the process to exit
		guardProxy.close()
		os.RemoveAll(profile)
	}
	return browserCtx, nil
}

// preferences turn WebRTC's own connections off: no UDP outside the
// proxy (which has none), no enumeration of local addresses.
const preferences = `{"webrtc": {"ip_handling_policy": "disable_non_proxied_udp", "multiple_routes_enabled": false, "nonproxied_udp_enabled": false}}`

// writePreferences writes the profile's preferences before the browser
// first starts with it.
func writePreferences(profile string) error {
	dir := filepath.Join(profile, "Default")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("the browser's profile: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Preferences"), []byte(preferences), 0o600); err != nil {
		return fmt.Errorf("the browser's profile: %w", err)
	}
	return nil
}

// Close stops the browser, if started, and removes its profile
// directory. The driver may be used again afterwards.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stop != nil {
		d.stop()
	}
	d.browser, d.proxy, d.stop = nil, nil, nil
	return nil
}

// Check reports whether the browser can be found and the target's
// settings can be applied to it: a private CA cannot.
func (d *Driver) Check(t audit.Target) error {
	if t.RootCAs != nil {
		return errors.New("a private CA (Target.RootCAs) cannot be applied to the browser, which trusts its NSS database only; add the CA there (certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n ca -i FILE) and leave Target.RootCAs unset, or sign in without the browser (Target.SignIn)")
	}
	if t.Transport != nil {
		return errors.New("a Transport of one's own cannot be applied to the browser")
	}
	_, err := d.chrome()
	return err
}

func (d *Driver) chrome() (string, error) {
	if d.Chrome != "" {
		p, err := exec.LookPath(d.Chrome)
		if err != nil {
			return "", fmt.Errorf("%w: Driver.Chrome %s: %v", ErrNoChromium, d.Chrome, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w on PATH (chromium, chromium-browser, google-chrome); install it (apt-get install chromium) or set Driver.Chrome", ErrNoChromium)
}

// percentHex is one percent-encoded byte in upper case.
var percentHex = regexp.MustCompile(`%[0-9A-F]{2}`)

// secretForms lists the ways the password can appear in a request's URL.
func secretForms(v string) []string {
	j, _ := json.Marshal(v)
	lower := func(s string) string { return percentHex.ReplaceAllStringFunc(s, strings.ToLower) }
	q := url.QueryEscape(v)
	forms := []string{v, q, lower(q), strings.ReplaceAll(q, "+", "%20"), lower(strings.ReplaceAll(q, "+", "%20")),
		url.PathEscape(v), html.EscapeString(v), strings.Trim(string(j), `"`),
		base64.StdEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)),
		hex.EncodeToString([]byte(v)), strings.ToUpper(hex.EncodeToString([]byte(v)))}
	var out []string
	for _, f := range forms {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// carriesSecret reports whether the URL raw holds one of the forms of
// the password, as written or once or twice percent-decoded (the
// encodings of encodeURIComponent, URLSearchParams and the browser's own
// clean-up differ in which characters they leave alone).
func carriesSecret(raw string, forms []string) bool {
	for range 3 {
		if containsAny(raw, forms) {
			return true
		}
		d, err := url.QueryUnescape(raw)
		if err != nil {
			d, err = url.PathUnescape(raw)
		}
		if err != nil || d == raw {
			return false
		}
		raw = d
	}
	return false
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

func originOf(u *url.URL) string {
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if scheme == "http" && port == "80" || scheme == "https" && port == "443" || scheme == "ws" && port == "80" || scheme == "wss" && port == "443" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return scheme + "://" + host + ":" + port
	}
	return scheme + "://" + host
}

// guard judges the browser's paused requests.
type guard struct {
	login, target string          // origins: the login page's, the target's
	allowed       map[string]bool // Target.AllowOrigins: trusted with everything
	loadOnly      map[string]bool // Driver.AllowLoadFrom
	secrets       []string        // the password's encodings
	header        http.Header     // for the target's origin only
	typing        atomic.Bool     // typing has started: load-only origins are closed

	mu      sync.Mutex
	blocked map[string]int // origin → requests failed
	unsafe  []string       // requests that put the password in a URL, without it
}

// loadable are the resource types a load-only origin may serve.
var loadable = map[network.ResourceType]bool{network.ResourceTypeScript: true, network.ResourceTypeStylesheet: true, network.ResourceTypeFont: true}

// decide says whether a request may go, and the headers to add.
func (g *guard) decide(req *network.Request, typ network.ResourceType) (ok bool, add http.Header) {
	u, err := url.Parse(req.URL)
	if err != nil {
		g.block("(unreadable URL)")
		return false, nil
	}
	if u.Scheme == "data" || u.Scheme == "blob" || u.Scheme == "about" {
		return true, nil
	}
	o := originOf(u)
	trusted := o == g.target || o == g.login || g.allowed[o]
	if !trusted && (!g.loadOnly[o] || carriesSecret(req.URL, g.secrets)) {
		g.block(o) // another origin: blocked whatever it carries
		return false, nil
	}
	if carriesSecret(req.URL, g.secrets) {
		// The password in a URL the sign-in itself would send: the
		// sign-in stops.
		g.mu.Lock()
		path := u.EscapedPath()
		if carriesSecret(path, g.secrets) {
			path = "/…" // the password is in the path itself
		}
		g.unsafe = append(g.unsafe, fmt.Sprintf("%s %s%s with the password in its URL", req.Method, o, path))
		g.mu.Unlock()
		g.block(o)
		return false, nil
	}
	switch {
	case o == g.target:
		return true, g.header
	case o == g.login || g.allowed[o]:
		return true, nil
	case g.loadOnly[o] && !g.typing.Load() && req.Method == http.MethodGet && !req.HasPostData && loadable[typ]:
		return true, nil
	}
	g.block(o)
	return false, nil
}

func (g *guard) block(origin string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.blocked == nil {
		g.blocked = map[string]int{}
	}
	g.blocked[origin]++
}

// blockedList merges what the guard and the proxy blocked, for the
// response and for error messages.
func (g *guard) blockedList(fromProxy map[string]int) map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for o, n := range g.blocked {
		out[o] += n
	}
	for o, n := range fromProxy {
		out[o] += n
	}
	return out
}

// describeBlocked is "https://cdn.example (3), …", origins sorted.
func describeBlocked(blocked map[string]int) string {
	var parts []string
	for _, o := range slices.Sorted(maps.Keys(blocked)) {
		parts = append(parts, fmt.Sprintf("%s (%d)", o, blocked[o]))
	}
	return strings.Join(parts, ", ")
}

// findFields marks the user and password inputs, and the button that
// sends them, with data attributes. It finds them as a password manager
// does, in a <form> or not (inputs known only by id, type and
// autocomplete, a button wired by onclick): the fields named when given;
// else the visible password input (not a new-password one when there is
// another), and the text, email or tel input scored by its autocomplete,
// type, labels, aria-label, placeholder, name and id, and its position
// (before the password, nearest first); a search or promo-code box never.
// The button is the form's submit button, else the visible button, submit
// input, role=button element or onclick link after the password, one
// reading "sign in", "log in", "continue" or "next" first.
const findFields = `(function (userName, passName) {
  const visible = e => !!(e.offsetParent || e.getClientRects().length);
  const type = e => (e.getAttribute('type') || '').toLowerCase();
  const all = Array.from(document.querySelectorAll('input'));
  let pw = passName ? document.querySelector('input[name="' + CSS.escape(passName) + '"]') || document.getElementById(passName) : null;
  if (!pw) {
    const pws = all.filter(e => type(e) === 'password' && visible(e));
    pw = pws.find(e => (e.getAttribute('autocomplete') || '') !== 'new-password') || pws[0] || document.querySelector('input[type=password]');
  }
  if (!pw) return "";
  const words = e => {
    let t = [e.getAttribute('aria-label'), e.getAttribute('placeholder'), e.name, e.id, e.getAttribute('title')].join(' ');
    for (const l of (e.labels || [])) t += ' ' + l.textContent;
    for (const id of (e.getAttribute('aria-labelledby') || '').split(/\s+/)) {
      const n = id && document.getElementById(id);
      if (n) t += ' ' + n.textContent;
    }
    return t.toLowerCase();
  };
  let user = null;
  if (userName) {
    user = document.querySelector('input[name="' + CSS.escape(userName) + '"]') || document.getElementById(userName);
  } else {
    const scope = pw.form || document;
    const at = all.indexOf(pw);
    let best = -1;
    for (const e of Array.from(scope.querySelectorAll('input'))) {
      if (e === pw || !['text', 'email', 'tel', ''].includes(type(e)) || !visible(e)) continue;
      const ac = (e.getAttribute('autocomplete') || '').toLowerCase(), w = words(e);
      let score = 0;
      if (ac.includes('username') || ac === 'email') score += 8;
      if (type(e) === 'email') score += 4;
      if (/user|login|e-?mail|account|identifier|sign.?in|member/.test(w)) score += 4;
      if (/search|promo|coupon|voucher|newsletter|subscribe|query/.test(w) || ac === 'off' && score === 0) score -= 20;
      const i = all.indexOf(e);
      if (i < at) score += 2 + i / (at + 1);
      if (score > best) { best = score; user = e; }
    }
    if (best < 0) user = null;
  }
  if (!user) return "no user-name field beside the password field";
  let btn = pw.form ? pw.form.querySelector('button:not([type=button]):not([type=reset]), input[type=submit], input[type=image]') : null;
  if (!btn) {
    const buttons = Array.from(document.querySelectorAll('button, input[type=submit], input[type=button], input[type=image], [role=button], a[onclick]')).filter(visible);
    const after = buttons.filter(b => pw.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
    const named = b => /sign.?in|log.?in|continue|next|submit|enter/i.test([b.textContent, b.value, b.getAttribute('aria-label')].join(' '));
    btn = after.find(named) || after[0] || buttons.find(named) || null;
  }
  for (const e of document.querySelectorAll('[data-sessionguard-user], [data-sessionguard-password], [data-sessionguard-submit]')) {
    e.removeAttribute('data-sessionguard-user'); e.removeAttribute('data-sessionguard-password'); e.removeAttribute('data-sessionguard-submit');
  }
  user.setAttribute('data-sessionguard-user', '');
  pw.setAttribute('data-sessionguard-password', '');
  if (btn) btn.setAttribute('data-sessionguard-submit', '');
  return "ok";
})`

// hasSubmit reports whether findFields found a button to press; without
// one the password field gets Enter, as a user would press it.
const hasSubmit = `!!document.querySelector("[data-sessionguard-submit]")`

// SignIn implements [audit.SignInDriver].
func (d *Driver) SignIn(ctx context.Context, req audit.SignInRequest) (*audit.SignInResponse, error) {
	path, err := d.chrome()
	if err != nil {
		return nil, err
	}
	wait := d.Wait
	if wait <= 0 {
		wait = 15 * time.Second
	}
	browserCtx, err := d.start(path)
	if err != nil {
		return nil, err
	}
	// A browser context of its own: an empty cookie jar and cache, as a
	// different person's browser would have.
	bctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()

	g := d.newGuard(req)
	if err := intercept(bctx, g); err != nil {
		return nil, fmt.Errorf("%w: starting the browser (%s): %v", audit.ErrUnreachable, path, err)
	}
	if err := setCookies(bctx, req); err != nil {
		return nil, err
	}
	d.mu.Lock()
	s := &signIn{d: d, g: g, proxy: d.proxy, req: req, wait: wait}
	d.mu.Unlock()
	at, err := s.run(bctx)
	if err != nil {
		return nil, err
	}
	out, err := readCookies(bctx, req.LoginURL, at)
	if err != nil {
		return nil, err
	}
	if b := s.blocked(); len(b) > 0 {
		out.Blocked = b
	}
	return out, nil
}

// newGuard is the guard of one sign-in, with the proxy opened to the
// same origins.
func (d *Driver) newGuard(req audit.SignInRequest) *guard {
	g := &guard{login: originOf(req.LoginURL), allowed: map[string]bool{}, loadOnly: map[string]bool{},
		secrets: secretForms(req.Password)}
	if req.TargetURL != nil {
		g.target, g.header = originOf(req.TargetURL), req.Header
	}
	trusted := []string{g.login}
	if g.target != "" {
		trusted = append(trusted, g.target)
	}
	for _, o := range req.AllowOrigins {
		g.allowed[strings.ToLower(o)] = true
		trusted = append(trusted, o)
	}
	for _, o := range d.AllowLoadFrom {
		g.loadOnly[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	d.mu.Lock()
	p := d.proxy
	d.mu.Unlock()
	if p != nil {
		p.allow(trusted, slices.Collect(maps.Keys(g.loadOnly)))
		p.takeBlocked() // what earlier sign-ins left
	}
	return g
}

// intercept pauses every request of the browser context and lets the
// guard judge it.
func intercept(bctx context.Context, g *guard) error {
	paused := make(chan *fetch.EventRequestPaused, 256)
	if err := chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			select {
			case paused <- e:
			default: // never blocks the reader; the request then stays paused and fails on close
			}
		}
	}); err != nil {
		return err
	}
	go func() {
		for {
			select {
			case <-bctx.Done():
				return
			case e := <-paused:
				ok, add := g.decide(e.Request, e.ResourceType)
				if !ok {
					_, _ = chromedp.Call(bctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
					continue
				}
				p := fetch.ContinueRequestParams{RequestID: e.RequestID}
				if len(add) > 0 {
					for k, v := range e.Request.Headers {
						p.Headers = append(p.Headers, &fetch.HeaderEntry{Name: k, Value: fmt.Sprint(v)})
					}
					for k, vs := range add {
						for _, v := range vs {
							p.Headers = append(p.Headers, &fetch.HeaderEntry{Name: k, Value: v})
						}
					}
				}
				_, _ = chromedp.Call(bctx, fetch.ContinueRequest, p)
			}
		}
	}()
	_, err := chromedp.Call(bctx, fetch.Enable, fetch.EnableParams{})
	return err
}

// setCookies gives the browser the cookies the actor holds.
func setCookies(bctx context.Context, req audit.SignInRequest) error {
	for _, c := range req.Cookies {
		p := network.SetCookieParams{Name: c.Name, Value: c.Value, URL: req.LoginURL.String(), Path: c.Path, Secure: &c.Secure, HTTPOnly: &c.HttpOnly}
		if c.Domain != "" {
			p.Domain = "." + strings.TrimPrefix(c.Domain, ".")
		}
		switch c.SameSite {
		case http.SameSiteStrictMode:
			p.SameSite = network.CookieSameSiteStrict
		case http.SameSiteLaxMode:
			p.SameSite = network.CookieSameSiteLax
		case http.SameSiteNoneMode:
			p.SameSite = network.CookieSameSiteNone
		}
		if !c.Expires.IsZero() {
			p.Expires = cdp.TimeSinceEpoch(float64(c.Expires.UnixNano()) / 1e9)
		}
		if _, err := chromedp.Call(bctx, network.SetCookie, p); err != nil {
			return fmt.Errorf("giving the browser the cookie %s: %v", c.Name, err)
		}
	}
	return nil
}

// signIn is one sign-in in the browser.
type signIn struct {
	d     *Driver
	g     *guard
	proxy *originProxy // the driver's, when the sign-in started
	req   audit.SignInRequest
	wait  time.Duration
}

// blocked is what the guard and the proxy blocked during this sign-in.
func (s *signIn) blocked() map[string]int {
	var fromProxy map[string]int
	if s.proxy != nil {
		fromProxy = s.proxy.takeBlocked()
	}
	return s.g.blockedList(fromProxy)
}

// unsafe is the error of a sign-in during which the page tried to put the
// password in a URL.
func (s *signIn) unsafe() error {
	s.g.mu.Lock()
	defer s.g.mu.Unlock()
	if len(s.g.unsafe) > 0 {
		return fmt.Errorf("%w: the browser tried %s; blocked", audit.ErrUnsafeSignIn, s.g.unsafe[0])
	}
	return nil
}

// blockedNote says which origins were blocked, for the error of a sign-in
// that did not work: it may have needed them.
func (s *signIn) blockedNote() string {
	b := s.blocked()
	if len(b) == 0 {
		return ""
	}
	// The origin to allow, when it can only be that one.
	o := "ORIGIN"
	if len(b) == 1 {
		o = slices.Collect(maps.Keys(b))[0]
	}
	return "; requests to other origins were blocked: " + describeBlocked(b) +
		"; if the login page needs one, add " + o + " to Driver.AllowLoadFrom (scripts, styles and fonts only, nothing typed goes there) or, if it is the application's own sign-in service, add " + o + " to Target.AllowOrigins (trusted with the password)"
}

// run opens the login page, fills in the form and waits for the page to
// leave it; it returns where the browser ended.
func (s *signIn) run(bctx context.Context) (*url.URL, error) {
	wctx, wcancel := context.WithTimeout(bctx, s.wait)
	defer wcancel()
	req := s.req
	if err := chromedp.Do(wctx, chromedp.Navigate(req.LoginURL.String())); err != nil {
		if e := s.unsafe(); e != nil {
			return nil, e
		}
		return nil, fmt.Errorf("%w: the browser could not open %s: %v%s", audit.ErrUnreachable, req.LoginURL.Redacted(), err, s.blockedNote())
	}
	// Wait for the form a script may build.
	var found string
	for {
		var err error
		found, err = chromedp.Run(wctx, chromedp.Evaluate[string](fmt.Sprintf("%s(%s, %s)", findFields, jsString(req.UserField), jsString(req.PasswordField))))
		if err == nil && found == "ok" {
			break
		}
		select {
		case <-wctx.Done():
			why := "no password field"
			if found != "" {
				why = found
			}
			return nil, fmt.Errorf("%w: %s: %s after %v in the browser; set Target.LoginPath, or Target.UserField and Target.PasswordField%s",
				audit.ErrNoLoginForm, req.LoginURL.Redacted(), why, s.wait, s.blockedNote())
		case <-time.After(50 * time.Millisecond):
		}
	}
	start, _ := chromedp.Run(wctx, chromedp.Location())
	// From here on nothing goes to a load-only origin.
	s.g.typing.Store(true)
	if p := s.proxy; p != nil {
		p.startTyping()
		defer p.endTyping()
	}
	// Typed key by key: real input events, as a page built on them
	// (React and the like) needs; then the button is clicked.
	press := chromedp.SendKeys(chromedp.CSS("[data-sessionguard-password]"), "\r")
	if button, err := chromedp.Run(wctx, chromedp.Evaluate[bool](hasSubmit)); err == nil && button {
		press = chromedp.Click(chromedp.CSS("[data-sessionguard-submit]"), chromedp.NodeVisible)
	}
	if err := chromedp.Do(wctx,
		chromedp.SendKeys(chromedp.CSS("[data-sessionguard-user]"), req.User),
		chromedp.SendKeys(chromedp.CSS("[data-sessionguard-password]"), req.Password),
		press,
	); err != nil {
		if e := s.unsafe(); e != nil {
			return nil, e
		}
		return nil, fmt.Errorf("%w: filling in the form in the browser: %v", audit.ErrNoLoginForm, err)
	}
	loc, left := s.waitLeave(wctx)
	if e := s.unsafe(); e != nil {
		return nil, e
	}
	if !left {
		if note := s.blockedNote(); note != "" {
			return nil, fmt.Errorf("%w: the page did not leave the login form within %v%s", audit.ErrSignIn, s.wait, note)
		}
	}
	if loc == "" {
		loc = start
	}
	at, err := url.Parse(loc)
	if err != nil || at.Host == "" {
		at = req.LoginURL
	}
	return at, nil
}

// waitLeave waits until the page leaves the form: another URL, or no
// password field any more (a single-page app re-rendering in place). It
// reports false when the wait ended first (a refused sign-in, which the
// audit judges, or one the blocked requests kept from working).
func (s *signIn) waitLeave(wctx context.Context) (string, bool) {
	for {
		loc, _ := chromedp.Run(wctx, chromedp.Location())
		gone, err := chromedp.Run(wctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !document.querySelector("[data-sessionguard-password]")`))
		if err == nil && gone && loc != "" {
			return loc, true
		}
		if s.unsafe() != nil || wctx.Err() != nil {
			return loc, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readCookies returns the page the browser ended on and every cookie it
// holds for the target.
func readCookies(bctx context.Context, login, at *url.URL) (*audit.SignInResponse, error) {
	res, err := chromedp.Call(bctx, network.GetCookies, network.GetCookiesParams{URLs: []string{(&url.URL{Scheme: login.Scheme, Host: login.Host, Path: "/"}).String(), at.String()}})
	if err != nil {
		return nil, fmt.Errorf("reading the browser's cookies: %v", err)
	}
	out := &audit.SignInResponse{URL: at}
	for _, c := range res.Cookies {
		hc := &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Secure: c.Secure, HttpOnly: c.HTTPOnly}
		if strings.HasPrefix(c.Domain, ".") {
			hc.Domain = c.Domain
		}
		switch c.SameSite {
		case network.CookieSameSiteStrict:
			hc.SameSite = http.SameSiteStrictMode
		case network.CookieSameSiteLax:
			hc.SameSite = http.SameSiteLaxMode
		case network.CookieSameSiteNone:
			hc.SameSite = http.SameSiteNoneMode
		}
		if !c.Session && c.Expires > 0 {
			hc.Expires = time.Unix(int64(c.Expires), 0)
		}
		out.Cookies = append(out.Cookies, hc)
	}
	return out, nil
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
