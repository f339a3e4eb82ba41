package audit

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for the zero values of [Target] fields.
const (
	DefaultLoginPath   = "/login"
	DefaultSamples     = 200
	DefaultConcurrency = 4
	DefaultTimeout     = 10 * time.Second
	DefaultMaxTime     = 10 * time.Minute
)

// Target describes the application to audit and how to sign in to it.
// Only BaseURL, User and Password are required.
type Target struct {
	// BaseURL is the application's root, http:// or https://. Paths below
	// are joined to its path.
	BaseURL string

	// LoginPath is the page with the login form. Default "/login".
	LoginPath string
	// User and Password are the credentials of a test account. The audit
	// signs in with them many times.
	User, Password string
	// UserField and PasswordField name the form fields to fill in. Default:
	// detected from the form (the only password input; the text or email
	// input before it, preferring autocomplete="username").
	UserField, PasswordField string

	// LoginJSONPath, if set, signs in with a JSON API instead of the login
	// form: a POST of {"username": User, "password": Password} (the names
	// from UserField and PasswordField when set) as application/json.
	// LoginPath is still visited first, for the cookies and CSRF token a
	// single-page app hands out there (a 4xx answer is tolerated), and
	// CheckPath is required. The checks that need a login form
	// (fixation-url, login-csrf) are skipped.
	LoginJSONPath string
	// CSRFHeader names the request header that carries a CSRF token found
	// in a <meta name="csrf-token"> tag or a double-submit cookie
	// (XSRF-TOKEN, csrftoken). Default: the header the detected framework
	// expects (X-CSRF-Token for Rails and unknown frameworks, X-CSRFToken
	// for Django, X-XSRF-TOKEN for Angular and Laravel).
	CSRFHeader string
	// SignIn, if set, signs in in place of the audit's own HTTP sign-in
	// (a real browser: package auditbrowser). The checks that need the
	// login form to be submitted by the audit itself are skipped.
	SignIn SignInDriver

	// CheckPath is a page only a signed-in user sees. Default: the page the
	// sign-in lands on.
	CheckPath string
	// Expect is text the check page shows only when signed in. Default:
	// User.
	Expect string

	// MaxSignIns bounds the sign-ins of the audit: every request that
	// carries the credentials, the wrong-password probe included. Default
	// DefaultMaxSignIns. The fixation checks get the budget first: an
	// audit whose budget cannot cover them is not done ([ErrSignInBudget]);
	// the other checks then use what is left, and are skipped with the
	// reason when it runs out.
	MaxSignIns int

	// NoWrongPasswordProbe skips the sign-in with a deliberately wrong
	// password that shows what a failed sign-in looks like (for accounts
	// that lock after failures).
	NoWrongPasswordProbe bool

	// LogoutPath is where logging out happens. Default: a logout form or
	// link found on the check page; without one the logout-invalidation
	// check is skipped.
	LogoutPath string
	// LogoutMethod forces GET or POST for logging out. Default: the method
	// of the logout form found on the check page, else GET, retried as
	// POST on 405 Method Not Allowed.
	LogoutMethod string

	// Cookies names the session cookies. Default: detected as the cookies
	// whose removal signs the user out.
	Cookies []string

	// Samples is how many fresh session tokens the token-randomness check
	// collects. Zero means DefaultSamples; a negative value skips the
	// check.
	Samples int
	// Concurrency bounds the requests in flight while collecting samples.
	// Default DefaultConcurrency. Every other step is sequential.
	Concurrency int
	// IdleWait opts in to the idle-timeout check: the audit waits this long
	// without any request and fails the check if the session still works.
	// Zero skips the check.
	IdleWait time.Duration
	// AbsoluteWait opts in to the absolute-timeout check: the audit signs
	// in, uses the session every minute (or every tenth of the wait if
	// shorter) for this long, and fails the check if it still works. Zero
	// skips the check. Like IdleWait it comes on top of MaxTime.
	AbsoluteWait time.Duration

	// AllowPasswordInURL lets the audit submit a login form sent by GET,
	// which puts the password in the URL (and so in server, proxy and
	// browser logs). Without it such a form stops the audit with
	// [ErrUnsafeSignIn]; with it the report carries a warning.
	AllowPasswordInURL bool
	// AllowOrigins lists other origins (scheme://host[:port]) the
	// credentials may be sent to. By default they go only to the origin of
	// the login page as reached after redirects on the target's host (or
	// the same host upgraded from http to https); a form posting elsewhere
	// stops the audit with [ErrUnsafeSignIn].
	AllowOrigins []string
	// Header is sent with every request (an API gateway's key, a
	// basic-auth header in front of the application). Its values are never
	// shown in any output. A Cookie header is refused: the audit keeps its
	// own cookie jars.
	Header http.Header

	// MaxTime bounds the whole audit, IdleWait and AbsoluteWait not
	// included (they are added).
	// Default DefaultMaxTime. Each check gets a share; when the time is up
	// (or ctx is cancelled) the report keeps the finished checks and marks
	// the others as errors, "not finished".
	MaxTime time.Duration

	// RootCAs, if set, are the certificate authorities trusted for an
	// https:// target (a private CA), instead of the system's.
	RootCAs *x509.CertPool
	// Insecure skips the verification of the target's TLS certificate.
	// The report then carries a warning.
	Insecure bool
	// Proxy, if set, routes every request through this proxy (an
	// intercepting proxy of the engagement): http://, https:// or
	// socks5://. Default: the proxy of the environment (HTTPS_PROXY, …).
	Proxy *url.URL

	// Timeout bounds each request. Default DefaultTimeout.
	Timeout time.Duration
	// Transport sends the requests. Default: a clone of
	// http.DefaultTransport, with RootCAs, Insecure and Proxy applied (they
	// cannot be combined with a Transport of one's own).
	Transport http.RoundTripper
	// Progress, if set, receives progress lines while tokens are collected.
	Progress io.Writer

	rand io.Reader // for invented IDs; tests make it deterministic
}

// Errors that make an audit impossible. [Run] wraps one of them, with the
// details, when it cannot audit; the report's verdict is then
// [VerdictCouldNotAudit] and no check passes.
var (
	// ErrBadTarget is returned when the Target is incomplete or invalid.
	ErrBadTarget = errors.New("bad target")
	// ErrUnreachable is returned when the login page cannot be fetched.
	ErrUnreachable = errors.New("target unreachable")
	// ErrNoLoginForm is returned when the login page has no usable form.
	ErrNoLoginForm = errors.New("no login form")
	// ErrSignIn is returned when signing in with the given credentials
	// does not make the check page show the expected text.
	ErrSignIn = errors.New("sign-in failed")
	// ErrSignInForbidden is returned when the sign-in itself is answered
	// 403 Forbidden: usually a CSRF token or an Origin check refused it,
	// rather than a wrong password.
	ErrSignInForbidden = errors.New("sign-in refused with 403 Forbidden")
	// ErrPublicCheckPage is returned when the check page shows the expected
	// text to a visitor who is not signed in, so signed-in detection would
	// be meaningless.
	ErrPublicCheckPage = errors.New("check page shows the expected text without a sign-in")
	// ErrNoSessionCookie is returned when the session cookie cannot be
	// found (or one named in Cookies is not set).
	ErrNoSessionCookie = errors.New("session cookie not detected")
	// ErrRedirectLoop is returned when the login page cannot be reached
	// because the application redirects in a loop (or more than ten
	// times).
	ErrRedirectLoop = errors.New("redirect loop")
	// ErrNotFinished is returned, with the report of the checks that
	// finished, when the audit was interrupted or reached MaxTime.
	ErrNotFinished = errors.New("audit not finished")
	// ErrRefused is returned when the application answers 429 Too Many
	// Requests or a 5xx error where the audit needs an answer, after the
	// retries its time budget allowed.
	ErrRefused = errors.New("the application refused the request")
	// ErrUnsafeSignIn is returned when signing in would expose the
	// credentials: the login form is sent by GET (the password would be
	// in a URL) without AllowPasswordInURL, or it, or a redirect repeating
	// its body, sends them to another origin not in AllowOrigins.
	ErrUnsafeSignIn = errors.New("refusing to send the credentials")
)

// Validate reports whether the target is complete and valid, without
// sending any request. [Run] calls it first.
func (t Target) Validate() error {
	_, err := t.validate()
	return err
}

// transport is the default transport with RootCAs, Insecure and Proxy.
func (t *Target) transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = t.Concurrency
	if t.RootCAs != nil || t.Insecure {
		tr.TLSClientConfig = &tls.Config{RootCAs: t.RootCAs, InsecureSkipVerify: t.Insecure, MinVersion: tls.VersionTLS12}
	}
	if t.Proxy != nil {
		tr.Proxy = http.ProxyURL(t.Proxy)
	}
	return tr
}

// validate checks the target and fills in defaults.
func (t *Target) validate() (*url.URL, error) {
	u, err := url.Parse(t.BaseURL)
	if err != nil {
		// url.Error quotes the whole URL, credentials included: only
		// the reason is shown, beside the URL without them.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: BASE_URL %q: %v", ErrBadTarget, WithoutUserinfo(t.BaseURL), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%w: BASE_URL %q is not an http:// or https:// URL", ErrBadTarget, WithoutUserinfo(t.BaseURL))
	}
	if u.User != nil {
		// Credentials in a URL end up in logs and in the report's target;
		// a gateway's Basic credentials go in an Authorization header.
		return nil, fmt.Errorf("%w: BASE_URL %s holds credentials (user:password@); give them in Target.Header as an Authorization header instead", ErrBadTarget, u.Redacted())
	}
	if t.User == "" {
		return nil, fmt.Errorf("%w: no user name", ErrBadTarget)
	}
	if t.Password == "" {
		return nil, fmt.Errorf("%w: no password", ErrBadTarget)
	}
	switch m := strings.ToUpper(t.LogoutMethod); m {
	case "", http.MethodGet, http.MethodPost:
		t.LogoutMethod = m
	default:
		return nil, fmt.Errorf("%w: logout method %q (want GET or POST)", ErrBadTarget, t.LogoutMethod)
	}
	if (t.LoginJSONPath != "" || t.SignIn != nil) && t.CheckPath == "" {
		return nil, fmt.Errorf("%w: a JSON or browser sign-in needs a check page (set Target.CheckPath) that shows Target.Expect when signed in", ErrBadTarget)
	}
	if t.LoginJSONPath != "" && t.SignIn != nil {
		return nil, fmt.Errorf("%w: a JSON sign-in and a sign-in driver (Target.SignIn) cannot be combined", ErrBadTarget)
	}
	if h := t.CSRFHeader; h != "" && (strings.ContainsAny(h, " :\r\n\t") || http.CanonicalHeaderKey(h) == "Cookie") {
		return nil, fmt.Errorf("%w: CSRF header %q is not a header name", ErrBadTarget, h)
	}
	if t.LoginPath == "" {
		t.LoginPath = DefaultLoginPath
	}
	if t.Expect == "" {
		t.Expect = t.User
	}
	if t.Samples == 0 {
		t.Samples = DefaultSamples
	}
	if t.MaxSignIns < 0 {
		return nil, fmt.Errorf("%w: negative sign-in budget", ErrBadTarget)
	}
	if t.MaxSignIns == 0 {
		t.MaxSignIns = DefaultMaxSignIns
	}
	if t.Concurrency <= 0 {
		t.Concurrency = DefaultConcurrency
	}
	if t.Timeout <= 0 {
		t.Timeout = DefaultTimeout
	}
	if t.MaxTime <= 0 {
		t.MaxTime = DefaultMaxTime
	}
	if t.Transport != nil && (t.RootCAs != nil || t.Insecure || t.Proxy != nil) {
		return nil, fmt.Errorf("%w: RootCAs, Insecure and Proxy configure the default transport; set them on your own Transport instead", ErrBadTarget)
	}
	if t.Proxy != nil {
		switch t.Proxy.Scheme {
		case "http", "https", "socks5", "socks5h":
		default:
			return nil, fmt.Errorf("%w: proxy %q is not an http://, https:// or socks5:// URL", ErrBadTarget, t.Proxy.Redacted())
		}
		if t.Proxy.Host == "" {
			return nil, fmt.Errorf("%w: proxy %q has no host", ErrBadTarget, t.Proxy.Redacted())
		}
	}
	for _, o := range t.AllowOrigins {
		if _, ok := parseOrigin(o); !ok {
			return nil, fmt.Errorf("%w: allowed origin %q is not scheme://host[:port]", ErrBadTarget, o)
		}
	}
	for name := range t.Header {
		switch http.CanonicalHeaderKey(name) {
		case "Cookie", "Cookie2":
			return nil, fmt.Errorf("%w: a %s header cannot be given: the audit keeps its own cookie jars for victim and attacker", ErrBadTarget, name)
		case "Host", "Content-Length", "Content-Type", "Origin":
			return nil, fmt.Errorf("%w: the %s header is set by the audit itself", ErrBadTarget, name)
		}
	}
	if t.IdleWait < 0 {
		return nil, fmt.Errorf("%w: negative idle wait", ErrBadTarget)
	}
	if t.AbsoluteWait < 0 {
		return nil, fmt.Errorf("%w: negative absolute wait", ErrBadTarget)
	}
	u.Fragment = ""
	u.RawQuery = ""
	return u, nil
}
