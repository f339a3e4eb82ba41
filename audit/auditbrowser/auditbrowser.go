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
//   - every request of the browser is paused and inspected: one that
//     carries the password (in its URL, in any common encoding, or in its
//     body) to an origin other than the login page's and
//     [Driver].AllowOrigins is failed, and the sign-in stops with an error
//     wrapping [audit.ErrUnsafeSignIn]; so is a request with the password
//     in its URL on any origin;
//   - [Driver].Header is added to the requests to the login page's origin
//     only;
//   - [Driver].Proxy routes the browser's requests through that proxy (the
//     loopback addresses included); [Driver].Insecure makes it accept any
//     certificate. A private CA (audit.Target.RootCAs) cannot be handed to
//     Chromium, which reads its trust store from its NSS database:
//     [Driver.Check] refuses it with a clear error;
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
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
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

	mu      sync.Mutex
	browser context.Context // the running browser, once started
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
	if d.Proxy != nil {
		opts = append(opts, chromedp.ProxyServer(d.Proxy.String()),
			// Chromium sends loopback addresses past the proxy unless told.
			chromedp.Flag("proxy-bypass-list", "<-loopback>"))
	}
	if d.Insecure {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors", true))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(browserCtx, chromedp.Navigate("about:blank")); err != nil {
		cancelBrowser()
		cancelAlloc()
		os.RemoveAll(profile)
		return nil, fmt.Errorf("%w: starting the browser (%s): %v", audit.ErrUnreachable, path, err)
	}
	d.browser = browserCtx
	d.stop = func() {
		cancelBrowser()
		cancelAlloc() // waits for the process to exit
		os.RemoveAll(profile)
	}
	return browserCtx, nil
}

// Close stops the browser, if started, and removes its profile
// directory. The driver may be used again afterwards.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stop != nil {
		d.stop()
	}
	d.browser, d.stop = nil, nil
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

// secretForms lists the ways the password can appear in a request.
func secretForms(v string) []string {
	j, _ := json.Marshal(v)
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v), html.EscapeString(v), strings.Trim(string(j), `"`)}
	var out []string
	for _, f := range forms {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

func originOf(u *url.URL) string { return strings.ToLower(u.Scheme + "://" + u.Host) }

// guard inspects the browser's paused requests.
type guard struct {
	origin  string
	allowed map[string]bool
	secrets []string
	header  http.Header

	mu      sync.Mutex
	blocked []string // why requests were blocked, without the password
}

// decide says whether a request may go, and the headers to add.
func (g *guard) decide(req *network.Request) (ok bool, add http.Header) {
	u, err := url.Parse(req.URL)
	if err != nil {
		g.block("a request to an unreadable URL")
		return false, nil
	}
	o := originOf(u)
	if u.Scheme == "data" || u.Scheme == "blob" || u.Scheme == "about" {
		return true, nil
	}
	var b strings.Builder
	for _, e := range req.PostDataEntries {
		b.Write(e.Bytes)
	}
	body := b.String()
	if containsAny(req.URL, g.secrets) {
		g.block(fmt.Sprintf("%s %s%s with the password in its URL", req.Method, o, u.EscapedPath()))
		return false, nil
	}
	if o != g.origin && !g.allowed[o] {
		if containsAny(body, g.secrets) || req.HasPostData && body == "" {
			g.block(fmt.Sprintf("%s %s%s with the password (or a body too long to inspect) to another origin than %s", req.Method, o, u.EscapedPath(), g.origin))
			return false, nil
		}
		return true, nil
	}
	if o != g.origin {
		return true, nil // an allowed sign-in service: the password, not -H
	}
	return true, g.header
}

func (g *guard) block(why string) {
	g.mu.Lock()
	g.blocked = append(g.blocked, why)
	g.mu.Unlock()
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

	g := &guard{origin: originOf(req.LoginURL), allowed: map[string]bool{}, secrets: secretForms(req.Password), header: req.Header}
	for _, o := range req.AllowOrigins {
		g.allowed[strings.ToLower(o)] = true
	}
	paused := make(chan *fetch.EventRequestPaused, 256)
	if err := chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			select {
			case paused <- e:
			default: // never blocks the reader; the request then stays paused and fails on close
			}
		}
	}); err != nil {
		return nil, fmt.Errorf("%w: starting the browser (%s): %v", audit.ErrUnreachable, path, err)
	}
	go func() {
		for {
			select {
			case <-bctx.Done():
				return
			case e := <-paused:
				ok, add := g.decide(e.Request)
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
	if _, err := chromedp.Call(bctx, fetch.Enable, fetch.EnableParams{}); err != nil {
		return nil, fmt.Errorf("%w: starting the browser (%s): %v", audit.ErrUnreachable, path, err)
	}
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
			return nil, fmt.Errorf("giving the browser the cookie %s: %v", c.Name, err)
		}
	}
	unsafe := func() error {
		g.mu.Lock()
		defer g.mu.Unlock()
		if len(g.blocked) > 0 {
			return fmt.Errorf("%w: the browser tried %s; blocked (add its origin to Target.AllowOrigins if that is the application's own sign-in service)", audit.ErrUnsafeSignIn, g.blocked[0])
		}
		return nil
	}

	wctx, wcancel := context.WithTimeout(bctx, wait)
	defer wcancel()
	if err := chromedp.Do(wctx, chromedp.Navigate(req.LoginURL.String())); err != nil {
		if e := unsafe(); e != nil {
			return nil, e
		}
		return nil, fmt.Errorf("%w: the browser could not open %s: %v", audit.ErrUnreachable, req.LoginURL.Redacted(), err)
	}
	// Wait for the form a script may build.
	var found string
	for {
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
			return nil, fmt.Errorf("%w: %s: %s after %v in the browser; set Target.LoginPath, or Target.UserField and Target.PasswordField", audit.ErrNoLoginForm, req.LoginURL.Redacted(), why, wait)
		case <-time.After(50 * time.Millisecond):
		}
	}
	start, _ := chromedp.Run(wctx, chromedp.Location())
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
		if e := unsafe(); e != nil {
			return nil, e
		}
		return nil, fmt.Errorf("%w: filling in the form in the browser: %v", audit.ErrNoLoginForm, err)
	}
	// Wait until the page leaves the form: another URL, or no password
	// field any more (a single-page app re-rendering in place).
	var loc string
	for {
		loc, _ = chromedp.Run(wctx, chromedp.Location())
		gone, err := chromedp.Run(wctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !document.querySelector("[data-sessionguard-password]")`))
		if err == nil && gone && loc != "" {
			break
		}
		if e := unsafe(); e != nil {
			return nil, e
		}
		if wctx.Err() != nil {
			break // still on the form: a refused sign-in, which the audit judges
		}
		time.Sleep(50 * time.Millisecond)
	}
	if e := unsafe(); e != nil {
		return nil, e
	}
	if loc == "" {
		loc = start
	}
	at, err := url.Parse(loc)
	if err != nil || at.Host == "" {
		at = req.LoginURL
	}
	res, err := chromedp.Call(bctx, network.GetCookies, network.GetCookiesParams{URLs: []string{(&url.URL{Scheme: req.LoginURL.Scheme, Host: req.LoginURL.Host, Path: "/"}).String(), at.String()}})
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
