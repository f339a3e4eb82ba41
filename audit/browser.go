package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	maxRedirects = 10
	maxBody      = 4 << 20
	userAgent    = "sessionguard-audit/1 (+https://github.com/sessionguard/sessionguard)"
)

// env is what every actor of one audit shares: the target, the HTTP
// client, the request budget and the values to mask in evidence.
type env struct {
	base        *url.URL
	client      *http.Client
	timeout     time.Duration
	maxRequests int64
	requests    atomic.Int64

	mu      sync.Mutex
	secrets map[string]bool // token values to mask in evidence
	mask    *masker         // values never shown at all (the password, secret header values)

	allowOrigins []string    // other origins that may receive the credentials
	csrfHeader   string      // Target.CSRFHeader: where CSRF tokens go back
	header       http.Header // sent with every request

	obs observations // marks of the framework, from every response

	credURLs     []credURL // redirects whose URL carried a secret (the first few)
	credURLCount int
}

// errBudget is returned once an audit has sent its maximum number of
// requests: a guard against redirect loops and runaway sampling.
var errBudget = errors.New("request budget exhausted")

// secret registers a token value to be masked wherever it appears in
// evidence.
func (e *env) secret(v string) {
	if len(v) < 6 {
		return
	}
	e.mu.Lock()
	e.secrets[v] = true
	e.mu.Unlock()
}

// redact masks in s the secrets of this audit (the password and secret
// header values, in every encoding) and shows every registered token
// value as its fingerprint; then it makes s safe to show (see safeText).
// Secrets and tokens are found in s as it came, so that neither keeps the
// other from being found.
func (e *env) redact(s string) string {
	spans := e.mask.hiddenSpans(s)
	e.mu.Lock()
	for v := range e.secrets {
		// As stored, and as a URL carries it (a fixation link, a
		// redirect): connect.sid's "s:" and base64's "+/=" are escaped.
		for _, f := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
			if f != v && !strings.ContainsRune(f, '%') {
				continue // not escaped: found as v
			}
			for off := 0; ; {
				i := strings.Index(s[off:], f)
				if i < 0 {
					break
				}
				spans = append(spans, span{start: off + i, end: off + i + len(f), token: v})
				off += i + 1
			}
		}
	}
	e.mu.Unlock()
	return safeText(apply(s, spans))
}

// mask shows enough of a token to tell two apart, never enough to use it.
func mask(v string) string {
	r := []rune(v)
	if len(r) < 12 {
		return string(r[:2]) + "…"
	}
	return string(r[:4]) + "…" + string(r[len(r)-2:])
}

// resolve turns a PATH flag (or an absolute URL on the same host) into a
// URL under the base: "/login" under "http://h/app" is "http://h/app/login".
func (e *env) resolve(p string) (*url.URL, error) {
	if u, err := url.Parse(p); err == nil && u.IsAbs() {
		if canonicalHost(u.Host) != canonicalHost(e.base.Host) {
			return nil, fmt.Errorf("%s is not on the target host %s", p, e.base.Host)
		}
		return u, nil
	}
	rel, err := url.Parse(p)
	if err != nil {
		return nil, fmt.Errorf("bad path %q: %v", p, err)
	}
	u := *e.base
	u.Path = strings.TrimSuffix(e.base.Path, "/") + "/" + strings.TrimPrefix(rel.Path, "/")
	u.RawPath = ""
	u.RawQuery = rel.RawQuery
	u.Fragment = ""
	return &u, nil
}

// rel is how evidence names a URL: its path and query on the target.
func rel(u *url.URL) string {
	if u == nil {
		return ""
	}
	s := u.EscapedPath()
	if s == "" {
		s = "/"
	}
	if u.RawQuery != "" {
		s += "?" + u.RawQuery
	}
	return s
}

// relTo is rel for URLs on base's origin, and the whole URL (without
// user info) for any other.
func relTo(base, u *url.URL) string {
	if u == nil || base == nil || origin(u) == origin(base) {
		return rel(u)
	}
	return origin(u) + rel(u)
}

// hop is one request and its response.
type hop struct {
	retries    int  // times the request was repeated after 429/502/503/504
	cut        bool // the body was longer than maxBody and was cut there
	method     string
	url        *url.URL
	sent       []string // the cookies sent, as name=value
	status     int
	location   string
	setCookies []*http.Cookie
}

// page is where a navigation ended, with every hop on the way.
type page struct {
	base   *url.URL // the target, to name off-target URLs in full
	url    *url.URL
	status int
	header http.Header
	body   []byte
	hops   []hop
}

// describe is the evidence line for a navigation:
// "POST /login → 303 → GET /dashboard → 200".
func (p *page) describe() string {
	var b strings.Builder
	for i, h := range p.hops {
		if i > 0 {
			b.WriteString(" → ")
		}
		fmt.Fprintf(&b, "%s %s → %d", h.method, relTo(p.base, h.url), h.status)
		if h.retries > 0 {
			fmt.Fprintf(&b, " (after %d retries)", h.retries)
		}
		if h.cut {
			fmt.Fprintf(&b, " (body cut at %d MiB)", maxBody>>20)
		}
	}
	return b.String()
}

// setCookie returns the last Set-Cookie for name during this navigation.
func (p *page) setCookie(name string) *http.Cookie {
	var found *http.Cookie
	for _, h := range p.hops {
		for _, c := range h.setCookies {
			if c.Name == name {
				found = c
			}
		}
	}
	return found
}

// issued is a Set-Cookie a browser received, with the request that got it.
type issued struct {
	cookie *http.Cookie
	method string
	url    *url.URL
}

// browser is one actor (victim, attacker, a throwaway client): a cookie
// jar and the navigations made with it. A browser is not safe for
// concurrent use.
type browser struct {
	name  string
	env   *env
	jar   *jar
	last  map[string]issued // last Set-Cookie seen, by cookie name
	quiet bool              // do not register values as secrets (sampling)
	// crossSite, when set, is the origin of another site whose page makes
	// this browser's requests (a form posted from there): they carry that
	// Origin and Sec-Fetch-Site: cross-site.
	crossSite string
	// signedIn is set once the check page showed this browser signed in.
	signedIn bool
	closed   bool // signed out by the audit (or found not signed in)
	// meta is the CSRF token of the last HTML page's <meta
	// name="csrf-token">, sent back in a header on unsafe requests.
	meta string
	// onRedirect, if set, runs when a request other than a GET (the
	// sign-in) is answered with a redirect, before it is followed: the
	// moment an attacker polling the application would win a race with
	// the victim's next page.
	onRedirect func()
}

func (e *env) newBrowser(name string) *browser {
	return &browser{name: name, env: e, jar: newJar(), last: map[string]issued{}}
}

// clone is a new actor holding a copy of b's cookies.
func (b *browser) clone(name string) *browser {
	c := b.env.newBrowser(name)
	c.jar.restore(b.jar.snapshot())
	c.meta = b.meta
	return c
}

func (b *browser) get(ctx context.Context, u *url.URL) (*page, error) {
	return b.do(ctx, http.MethodGet, u, nil, "")
}

// do navigates like a browser: it sends the jar's cookies, stores the
// cookies it gets, and follows redirects on the target host (301, 302 and
// 303 turn into GET, 307 and 308 repeat the request).
func (b *browser) do(ctx context.Context, method string, u *url.URL, body []byte, contentType string) (*page, error) {
	p := &page{base: b.env.base}
	seen := map[string]bool{}
	for range maxRedirects + 1 {
		if key := method + " " + u.String(); seen[key] {
			return p, fmt.Errorf("%w: %s → %s %s again", ErrRedirectLoop, p.describe(), method, relTo(b.env.base, u))
		} else {
			seen[key] = true
		}
		h, resp, data, err := b.send(ctx, method, u, body, contentType)
		if err != nil {
			return p, err
		}
		p.hops = append(p.hops, h)
		p.url, p.status, p.header, p.body = u, resp.StatusCode, resp.Header, data
		if strings.Contains(strings.ToLower(resp.Header.Get("Content-Type")), "html") {
			if tok := csrfMeta(data); tok != "" {
				b.meta = tok
			}
		}
		if refusedStatus(resp.StatusCode) {
			return p, &refusedError{desc: p.describe(), status: resp.StatusCode}
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" || resp.StatusCode == http.StatusNotModified {
			return p, nil
		}
		next, err := u.Parse(loc)
		if err != nil {
			return p, fmt.Errorf("%s %s: bad redirect %q: %v", method, rel(u), loc, err)
		}
		if b.env.mask.carriesSecret(next) {
			// Requesting it would put the secret in a URL (and in the
			// logs of every server and proxy on the way): the navigation
			// ends here, and credentials-in-url reports it.
			b.env.sawCredentialsInURL(method+" "+relTo(b.env.base, u), h.status, loc)
			return p, nil
		}
		if body != nil && (resp.StatusCode == http.StatusTemporaryRedirect || resp.StatusCode == http.StatusPermanentRedirect) &&
			!b.env.mayReceiveCredentials(u, next) {
			return p, fmt.Errorf("%w: %s %s answered %d, which would repeat the request body (the credentials) to %s, another origin; add %s to Target.AllowOrigins to allow it",
				ErrUnsafeSignIn, method, relTo(b.env.base, u), resp.StatusCode, origin(next), origin(next))
		}
		if !b.env.mayVisit(next) {
			return p, fmt.Errorf("%s %s redirected off the target's origin to %s; audit that site instead, or add %s to Target.AllowOrigins", method, relTo(b.env.base, u), origin(next), origin(next))
		}
		next.Fragment = ""
		if b.onRedirect != nil && len(p.hops) == 1 && p.hops[0].method != http.MethodGet {
			b.onRedirect()
		}
		switch resp.StatusCode {
		case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		default:
			if method != http.MethodHead {
				method = http.MethodGet
			}
			body, contentType = nil, ""
		}
		u = next
	}
	return p, fmt.Errorf("%w: more than %d redirects: %s", ErrRedirectLoop, maxRedirects, p.describe())
}

// refusedStatus reports whether a response means the request was not
// served: 429 Too Many Requests or a 5xx. An attempt that met one is not
// completed, whatever it would otherwise have shown.
func refusedStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// refusedError is a navigation that ended in a refused response after the
// retries the time budget allowed.
type refusedError struct {
	desc   string
	status int
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("%s (%s): not completed", e.desc, http.StatusText(e.status))
}

func (e *refusedError) Unwrap() error { return ErrRefused }

// isRefused reports whether err is (or wraps) a refused response.
func isRefused(err error) bool {
	var r *refusedError
	return errors.As(err, &r)
}

const (
	maxRetries   = 5
	firstBackoff = 500 * time.Millisecond
	maxWait      = time.Minute
)

// send is one request, repeated while the answer is 429, 502, 503 or 504
// and the time budget (ctx's deadline) allows: after Retry-After when the
// server gives one, else after an exponential back-off.
func (b *browser) send(ctx context.Context, method string, u *url.URL, body []byte, contentType string) (hop, *http.Response, []byte, error) {
	backoff := firstBackoff
	for try := 0; ; try++ {
		h, resp, data, err := b.roundTrip(ctx, method, u, body, contentType)
		h.retries = try
		if err != nil {
			return h, resp, data, err
		}
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		default:
			return h, resp, data, nil
		}
		wait := backoff
		if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			wait = ra
		}
		backoff *= 2
		if try >= maxRetries || wait > maxWait {
			return h, resp, data, nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait+100*time.Millisecond {
			return h, resp, data, nil // no time left to wait and try again
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return h, resp, data, nil
		case <-t.C:
		}
	}
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func (b *browser) roundTrip(ctx context.Context, method string, u *url.URL, body []byte, contentType string) (hop, *http.Response, []byte, error) {
	h := hop{method: method, url: u}
	if b.env.requests.Add(1) > b.env.maxRequests {
		return h, nil, nil, errBudget
	}
	ctx, cancel := context.WithTimeout(ctx, b.env.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return h, nil, nil, err
	}
	if b.env.sendsHeader(u) {
		for name, vals := range b.env.header {
			req.Header[http.CanonicalHeaderKey(name)] = append([]string(nil), vals...)
		}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	switch {
	case b.crossSite != "":
		// A navigation started by another site's page, as a browser
		// sends it.
		if method != http.MethodGet && method != http.MethodHead {
			req.Header.Set("Origin", b.crossSite)
		}
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		req.Header.Set("Sec-Fetch-Dest", "document")
	case method != http.MethodGet && method != http.MethodHead:
		// Browsers send Origin on unsafe requests; CSRF guards such as
		// http.CrossOriginProtection accept a same-origin one.
		req.Header.Set("Origin", u.Scheme+"://"+u.Host)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	b.csrfHeaders(req, u)
	for _, c := range b.jar.Cookies(u) {
		req.AddCookie(c)
		h.sent = append(h.sent, c.Name+"="+c.Value)
	}
	resp, err := b.env.client.Do(req)
	if err != nil {
		return h, nil, nil, fmt.Errorf("%s %s: %w", method, rel(u), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return h, nil, nil, fmt.Errorf("%s %s: reading the response: %w", method, rel(u), err)
	}
	if len(data) > maxBody {
		data, h.cut = data[:maxBody], true
	}
	h.status = resp.StatusCode
	h.location = resp.Header.Get("Location")
	h.setCookies = resp.Cookies()
	b.env.observe(resp.Header, h.setCookies)
	b.jar.setFrom(method, u, h.setCookies)
	for _, c := range h.setCookies {
		b.last[c.Name] = issued{cookie: c, method: method, url: u}
		if !b.quiet {
			b.env.secret(c.Value)
		}
	}
	return h, resp, data, nil
}
