package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// SignInDriver signs an actor in by other means than the audit's own HTTP
// requests: a real browser that runs the login page's scripts (package
// auditbrowser). The audit hands it the cookies the actor holds (an
// attacker's planted ID among them) and takes back the cookies it holds
// afterwards; every other request of the audit, the attacker's included,
// stays plain HTTP.
//
// A driver must obey the audit's rules: the password goes to no origin
// but the login page's and AllowOrigins (return an error wrapping
// [ErrUnsafeSignIn] rather than send it), never into a URL, and never
// into an error message; Header goes to the origin of TargetURL only; an
// origin (scheme, host and port) the sign-in may not reach gets nothing,
// and is counted in [SignInResponse].Blocked. An error that advises a
// setting of the driver names it as a [Hint] with the type name Driver
// ("add ORIGIN to Driver.AllowLoadFrom"), so that a command line can say
// its flag instead.
type SignInDriver interface {
	SignIn(ctx context.Context, req SignInRequest) (*SignInResponse, error)
}

// SignInRequest is one sign-in a [SignInDriver] performs.
type SignInRequest struct {
	// LoginURL is the login page to open.
	LoginURL *url.URL
	// User and Password are the credentials to fill in; UserField and
	// PasswordField name the fields when given (else: the driver finds
	// the password input and the text or email input before it).
	User, Password           string
	UserField, PasswordField string
	// Cookies are the cookies the actor holds for LoginURL before signing
	// in, with their Path, Domain ("" when host-only), Secure, HttpOnly
	// and SameSite. The driver starts with exactly these.
	Cookies []*http.Cookie
	// AllowOrigins are the origins other than LoginURL's that may receive
	// the password.
	AllowOrigins []string
	// Header is sent with the driver's requests to the origin of
	// TargetURL, and to no other.
	Header http.Header
	// TargetURL is the audited application (Target.BaseURL).
	TargetURL *url.URL
}

// SignInResponse is what a [SignInDriver] saw: the page the sign-in ended
// on and every cookie held for it afterwards. A sign-in the application
// refused (wrong password) is a response, not an error: the audit tells
// signed in from not with the check page.
type SignInResponse struct {
	URL     *url.URL
	Cookies []*http.Cookie
	// Blocked counts, by origin, the requests the driver refused because
	// they went to an origin the sign-in may not reach. It never holds
	// what they carried. The report warns about them.
	Blocked map[string]int
}

// csrfMeta reads the token of <meta name="csrf-token" content="…"> (Rails,
// Laravel and others put it there for scripts to send back in a header).
func csrfMeta(body []byte) string {
	if !bytes.Contains(body, []byte("csrf")) {
		return ""
	}
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return ""
	}
	var tok string
	walk(doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.DataAtom == atom.Meta && tok == "" {
			switch strings.ToLower(attrOr(n, "name")) {
			case "csrf-token", "_csrf", "csrf_token", "x-csrf-token":
				tok = attrOr(n, "content")
			}
		}
		return tok == ""
	})
	return tok
}

// doubleSubmit maps the cookies of the double-submit pattern to the header
// their frameworks read them back from.
var doubleSubmit = []struct{ cookie, header string }{
	{"XSRF-TOKEN", "X-XSRF-TOKEN"}, // Angular, Laravel, Axios
	{"csrftoken", "X-CSRFToken"},   // Django
}

// metaHeader is the header a <meta name="csrf-token"> token goes back in:
// CSRFHeader if given, else the one the framework seen so far expects.
func (e *env) metaHeader() string {
	if e.csrfHeader != "" {
		return e.csrfHeader
	}
	e.obs.mu.Lock()
	defer e.obs.mu.Unlock()
	for c := range e.obs.cookies {
		switch {
		case c == "csrftoken" || c == "sessionid":
			return "X-CSRFToken"
		case c == "laravel_session" || c == "XSRF-TOKEN":
			return "X-XSRF-TOKEN"
		}
	}
	return "X-CSRF-Token" // Rails, and most others
}

// csrfHeaders adds the CSRF tokens a page's script would send with an
// unsafe same-origin request: the meta-tag token and double-submit cookie
// values. A cross-site page cannot, so b.crossSite sends none.
func (b *browser) csrfHeaders(req *http.Request, u *url.URL) {
	if b.crossSite != "" || req.Method == http.MethodGet || req.Method == http.MethodHead {
		return
	}
	set := func(name, v string) {
		if b.env.csrfHeader != "" {
			name = b.env.csrfHeader
		}
		if req.Header.Get(name) == "" {
			req.Header.Set(name, v)
		}
	}
	for _, ds := range doubleSubmit {
		if v, ok := b.jar.value(u, ds.cookie); ok && v != "" {
			if d, err := url.QueryUnescape(v); err == nil && ds.cookie == "XSRF-TOKEN" {
				v = d // Laravel URL-encodes it; Axios and Angular send it decoded
			}
			set(ds.header, v)
		}
	}
	if b.meta != "" {
		set(b.env.metaHeader(), b.meta)
	}
}

// usesForm reports whether the audit submits the login form itself (not
// a JSON API, not a sign-in driver).
func (a *auditor) usesForm() bool { return a.jsonURL == nil && a.t.SignIn == nil }

// notFormReason is why a check that needs the audit's own form sign-in
// is skipped.
func (a *auditor) notFormReason() string {
	if a.jsonURL != nil {
		return "the sign-in is a JSON request (Target.LoginJSONPath), not a form"
	}
	return "the sign-in runs in a browser (Target.SignIn), not through the audit's own form submission"
}

// openLoginPage visits the login page before a JSON or driven sign-in,
// for the cookies and CSRF token handed out there. A 4xx answer is kept
// (an API may have no page there); a refused one stops the sign-in.
func (a *auditor) openLoginPage(ctx context.Context, b *browser, u *url.URL) (*page, error) {
	p, err := b.get(ctx, u)
	if isRefused(err) || errors.Is(err, ErrRedirectLoop) {
		return p, err
	}
	if err != nil {
		return p, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return p, nil
}

// signInJSON signs in with the JSON API: the login page first, then a
// POST of the credentials as JSON to Target.LoginJSONPath.
func (a *auditor) signInJSON(ctx context.Context, b *browser, u *url.URL, password string) (*signInResult, error) {
	p, err := a.openLoginPage(ctx, b, u)
	if err != nil {
		return nil, err
	}
	if !a.env.mayReceiveCredentials(p.url, a.jsonURL) {
		return nil, fmt.Errorf("%w: the JSON sign-in %s is on another origin than the login page %s; add %s to Target.AllowOrigins if that is the application's own sign-in service",
			ErrUnsafeSignIn, relTo(a.env.base, a.jsonURL), origin(p.url), origin(a.jsonURL))
	}
	uf, pf := cmpOr(a.t.UserField, "username"), cmpOr(a.t.PasswordField, "password")
	body, err := json.Marshal(map[string]string{uf: a.t.User, pf: password})
	if err != nil {
		return nil, fmt.Errorf("%w: encoding the JSON sign-in: %v", ErrBadTarget, err)
	}
	if err := a.spendSignIn(); err != nil {
		return nil, err
	}
	sub, err := b.do(ctx, http.MethodPost, a.jsonURL, body, "application/json")
	a.track(b)
	if errors.Is(err, ErrUnsafeSignIn) || isRefused(err) || errors.Is(err, ErrRedirectLoop) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return &signInResult{loginPage: p, submit: sub}, nil
}

// signInDriven signs in through the SignIn driver, with b's cookies, and
// gives b the cookies the driver holds afterwards.
func (a *auditor) signInDriven(ctx context.Context, b *browser, u *url.URL, password string) (*signInResult, error) {
	p, err := a.openLoginPage(ctx, b, u)
	if err != nil {
		return nil, err
	}
	before := b.jar.snapshot()
	req := SignInRequest{
		LoginURL: p.url, User: a.t.User, Password: password,
		UserField: a.t.UserField, PasswordField: a.t.PasswordField,
		Cookies: b.jar.all(p.url), AllowOrigins: slices.Clone(a.env.allowOrigins), Header: a.env.header.Clone(),
		TargetURL: a.env.base,
	}
	if err := a.spendSignIn(); err != nil {
		return nil, err
	}
	a.env.requests.Add(1)
	resp, err := a.t.SignIn.SignIn(ctx, req)
	a.track(b)
	if err != nil {
		if errors.Is(err, ErrUnsafeSignIn) || isRefused(err) || errors.Is(err, ErrUnreachable) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrSignIn, err)
	}
	if resp == nil || resp.URL == nil {
		return nil, fmt.Errorf("%w: the sign-in driver returned no page", ErrSignIn)
	}
	if len(resp.Blocked) > 0 {
		a.warn("the browser sign-in blocked requests to other origins (nothing was sent there): " + blockedList(resp.Blocked))
	}
	if !a.env.mayVisit(resp.URL) {
		return nil, fmt.Errorf("%w: the browser sign-in ended off the target, at %s", ErrSignIn, origin(resp.URL))
	}
	b.jar.restore(jarSnapshot{})
	b.jar.setFrom("", resp.URL, resp.Cookies)
	h := hop{method: "browser sign-in, ending at", url: resp.URL, status: http.StatusOK}
	for _, c := range resp.Cookies {
		if old, ok := before[cookieKey{canonicalHost(cmpOr(strings.TrimPrefix(c.Domain, "."), resp.URL.Host)), orSlash(c.Path), c.Name}]; !ok || old.value != c.Value {
			h.setCookies = append(h.setCookies, c)
		}
		b.last[c.Name] = issued{cookie: c, method: h.method, url: resp.URL}
		if !b.quiet {
			b.env.secret(c.Value)
		}
	}
	sub := &page{base: a.env.base, url: resp.URL, status: http.StatusOK, header: http.Header{}, hops: []hop{h}}
	return &signInResult{loginPage: p, submit: sub}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// blockedList is "https://cdn.example (3), https://t.example (1)",
// origins sorted.
func blockedList(blocked map[string]int) string {
	var parts []string
	for _, o := range slices.Sorted(maps.Keys(blocked)) {
		parts = append(parts, fmt.Sprintf("%s (%d)", o, blocked[o]))
	}
	return strings.Join(parts, ", ")
}
