package session

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Defaults of [Config]. The timeouts follow NIST SP 800-63B §7.2 for AAL2
// and ASVS 3.3: 30 minutes of inactivity, 12 hours in all.
const (
	DefaultCookieName      = "__Host-sid"
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
	// DefaultRememberIdleTimeout and DefaultRememberAbsoluteTimeout apply to
	// sessions signed in with [RememberMe].
	DefaultRememberIdleTimeout     = 7 * 24 * time.Hour
	DefaultRememberAbsoluteTimeout = 30 * 24 * time.Hour
	// DefaultMaxDataSize bounds the encoded values of one session.
	DefaultMaxDataSize = 64 << 10
	// insecureCookieName is the default name when Secure is turned off,
	// since browsers refuse a __Host- cookie without Secure.
	insecureCookieName = "sid"
)

// Config configures a [Manager]. The zero value is the secure default; every
// field documents its default. [New] rejects contradictory settings.
type Config struct {
	// CookieName names the session cookie. Default "__Host-sid" (or "sid"
	// with InsecureCookieWithoutSecure). The __Host- prefix makes browsers
	// refuse the cookie unless it is Secure, has Path=/ and no Domain, which
	// stops a sibling subdomain from planting one (cookie tossing).
	CookieName string
	// CookieDomain sets the cookie's Domain attribute. Default none: the
	// cookie is host-only. Not allowed with a __Host- name. Setting it
	// shares the session with every subdomain, which is rarely wanted.
	CookieDomain string
	// CookiePath sets the cookie's Path. Default "/"; must be "/" with a
	// __Host- name.
	CookiePath string
	// SameSite sets the cookie's SameSite attribute. Default
	// http.SameSiteLaxMode. http.SameSiteNoneMode requires Secure.
	SameSite http.SameSite

	// InsecureCookieWithoutSecure drops the Secure attribute so that the
	// cookie works over plain HTTP. For local development only: a cookie
	// without Secure is sent in clear text and can be overwritten by any
	// plain-HTTP response on the path to the user. Default false. When set,
	// the default cookie name is "sid" and New logs a warning.
	InsecureCookieWithoutSecure bool

	// IdleTimeout ends a session after this long without a request that
	// loads it. Default 30 minutes. Enforced on the server to within
	// TouchInterval.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after sign-in (or creation,
	// for an anonymous session), whatever its activity. Default 12 hours.
	// Must not be shorter than IdleTimeout.
	AbsoluteTimeout time.Duration
	// TouchInterval throttles idle refreshes: a request that changes nothing
	// writes to the store only when the stored last-seen time is at least
	// this old. Default IdleTimeout/30, at most one minute; it must be less
	// than half of IdleTimeout. A session therefore lives at least
	// IdleTimeout-TouchInterval after its last request, and at most
	// IdleTimeout.
	TouchInterval time.Duration
	// RememberIdleTimeout and RememberAbsoluteTimeout replace the two
	// timeouts for a sign-in made with [RememberMe], whose cookie then
	// persists across browser restarts. Defaults 7 and 30 days.
	RememberIdleTimeout     time.Duration
	RememberAbsoluteTimeout time.Duration

	// RotateEvery, when positive, gives a signed-in session a fresh token
	// once its current token is this old, on the first request after that,
	// which narrows the use of a token stolen without the user noticing
	// (ASVS 3.3.x, OWASP Session Management Cheat Sheet). Unlike a sign-in
	// or [Session.Renew], no privilege changes here, so the old token keeps
	// working for RotateGrace, serving the new session, for requests the
	// browser sent before it had the new cookie. Default 0: off.
	RotateEvery time.Duration
	// RotateGrace is how long a token replaced by RotateEvery keeps working.
	// Default 30 seconds (at most half of RotateEvery).
	RotateGrace time.Duration

	// MaxDataSize bounds the encoded size of a session's values in bytes.
	// A commit over it fails with [ErrTooLarge]. Default 64 KiB.
	MaxDataSize int

	// ClearSiteDataOnLogout adds `Clear-Site-Data: "cache", "cookies",
	// "storage"` to the response of a [Session.Logout], so the browser also
	// drops other cookies and stored data of the origin. Default false.
	ClearSiteDataOnLogout bool

	// ErrorHandler writes the response when the session layer cannot do its
	// job: the store failed or timed out, a record could not be decoded, the
	// values were too large. The request is never served as if it had no
	// session (invariant I9). err wraps the cause; test it with errors.Is.
	// Default: 413 for ErrTooLarge, 503 otherwise, with a short plain-text
	// body that reveals nothing.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// ReauthHandler answers a request refused by [Manager.RequireRecentAuth]
	// because its sign-in is missing or too old. Typically it redirects to a
	// sign-in page. Default: 401 with a plain-text body.
	ReauthHandler http.Handler

	// OnEvent receives every [Event]. It is called synchronously on the
	// request path, possibly from several goroutines at once, and must not
	// block. Default: each event is logged to Logger.
	OnEvent func(Event)
	// Logger receives events when OnEvent is nil. Default slog.Default().
	Logger *slog.Logger

	// ClientIP extracts the client address recorded in a session's metadata
	// and in events. Default: the host part of Request.RemoteAddr. Behind
	// reverse proxies use [TrustedProxyClientIP]; never trust forwarding
	// headers blindly.
	ClientIP func(r *http.Request) string

	// GuessLimit is how many unknown, expired, dead or malformed tokens one
	// client may present within GuessWindow before an EventTokenGuessing is
	// raised: the trace of token guessing or of a fixation ID being tried.
	// Default 20; a negative value turns the counting off.
	GuessLimit int
	// GuessWindow is the period over which bad tokens are counted. Default
	// 10 minutes.
	GuessWindow time.Duration
	// GuessCooldown, when positive, refuses requests that carry a session
	// cookie from a client past GuessLimit for this long, with
	// [ErrTooManyBadTokens] (429 from the default ErrorHandler). Default 0:
	// events only.
	GuessCooldown time.Duration
	// GuessClients bounds how many clients are counted at once; the least
	// recently seen are forgotten first. Default 10000.
	GuessClients int
	// GuessKey names the client that bad tokens are counted against.
	// Default ClientIP.
	GuessKey func(r *http.Request) string

	// ClientBinding decides what happens when a session is used from a
	// client whose User-Agent differs from the one that created or signed
	// in to it. Default BindNone.
	ClientBinding ClientBinding

	// Now returns the current time. Default time.Now. For tests.
	Now func() time.Time
}

// ErrConfig is wrapped by every error [New] returns for a bad configuration.
var ErrConfig = errors.New("session: invalid configuration")

func configError(field, format string, args ...any) error {
	return fmt.Errorf("%w: Config.%s: %s", ErrConfig, field, fmt.Sprintf(format, args...))
}

// withDefaults returns c with defaults filled in, or an error naming the
// first offending field (invariant I7).
func (c Config) withDefaults() (Config, error) {
	if c.CookieName == "" {
		c.CookieName = DefaultCookieName
		if c.InsecureCookieWithoutSecure {
			c.CookieName = insecureCookieName
		}
	}
	if !validCookieName(c.CookieName) {
		return c, configError("CookieName", "%q is not a valid cookie name", c.CookieName)
	}
	if c.CookiePath == "" {
		c.CookiePath = "/"
	}
	if !strings.HasPrefix(c.CookiePath, "/") || strings.ContainsAny(c.CookiePath, ";\x00\r\n") {
		return c, configError("CookiePath", "%q must start with / and hold no ';' or control bytes", c.CookiePath)
	}
	if strings.ContainsAny(c.CookieDomain, ";, \x00\r\n") {
		return c, configError("CookieDomain", "%q is not a valid domain", c.CookieDomain)
	}
	hostPrefix := strings.HasPrefix(c.CookieName, "__Host-")
	securePrefix := hostPrefix || strings.HasPrefix(c.CookieName, "__Secure-")
	if hostPrefix && c.CookieDomain != "" {
		return c, configError("CookieDomain", "a __Host- cookie must not have a Domain (it would be rejected by browsers)")
	}
	if hostPrefix && c.CookiePath != "/" {
		return c, configError("CookiePath", "a __Host- cookie must have Path=/, not %q", c.CookiePath)
	}
	if securePrefix && c.InsecureCookieWithoutSecure {
		return c, configError("InsecureCookieWithoutSecure", "cookie %q has a prefix that requires Secure; choose another CookieName for plain-HTTP development", c.CookieName)
	}
	switch c.SameSite {
	case 0, http.SameSiteDefaultMode:
		c.SameSite = http.SameSiteLaxMode
	case http.SameSiteLaxMode, http.SameSiteStrictMode:
	case http.SameSiteNoneMode:
		if c.InsecureCookieWithoutSecure {
			return c, configError("SameSite", "SameSite=None requires Secure, but InsecureCookieWithoutSecure is set")
		}
	default:
		return c, configError("SameSite", "unknown mode %d", c.SameSite)
	}

	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.AbsoluteTimeout == 0 {
		c.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if c.RememberIdleTimeout == 0 {
		c.RememberIdleTimeout = max(DefaultRememberIdleTimeout, c.IdleTimeout)
	}
	if c.RememberAbsoluteTimeout == 0 {
		c.RememberAbsoluteTimeout = max(DefaultRememberAbsoluteTimeout, c.AbsoluteTimeout)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"IdleTimeout", c.IdleTimeout}, {"AbsoluteTimeout", c.AbsoluteTimeout},
		{"RememberIdleTimeout", c.RememberIdleTimeout}, {"RememberAbsoluteTimeout", c.RememberAbsoluteTimeout},
		{"TouchInterval", c.TouchInterval},
	} {
		if d.v < 0 {
			return c, configError(d.name, "must not be negative, got %v", d.v)
		}
	}
	if c.IdleTimeout < time.Second {
		return c, configError("IdleTimeout", "%v is shorter than a second", c.IdleTimeout)
	}
	if c.AbsoluteTimeout < c.IdleTimeout {
		return c, configError("AbsoluteTimeout", "%v is shorter than IdleTimeout %v", c.AbsoluteTimeout, c.IdleTimeout)
	}
	if c.RememberIdleTimeout < c.IdleTimeout {
		return c, configError("RememberIdleTimeout", "%v is shorter than IdleTimeout %v", c.RememberIdleTimeout, c.IdleTimeout)
	}
	if c.RememberAbsoluteTimeout < c.RememberIdleTimeout {
		return c, configError("RememberAbsoluteTimeout", "%v is shorter than RememberIdleTimeout %v", c.RememberAbsoluteTimeout, c.RememberIdleTimeout)
	}
	if c.RememberAbsoluteTimeout < c.AbsoluteTimeout {
		return c, configError("RememberAbsoluteTimeout", "%v is shorter than AbsoluteTimeout %v", c.RememberAbsoluteTimeout, c.AbsoluteTimeout)
	}
	if c.TouchInterval == 0 {
		c.TouchInterval = min(c.IdleTimeout/30, time.Minute)
	}
	if c.TouchInterval >= c.IdleTimeout/2 {
		return c, configError("TouchInterval", "%v must be less than half of IdleTimeout %v", c.TouchInterval, c.IdleTimeout)
	}
	if c.RotateEvery < 0 || c.RotateGrace < 0 {
		return c, configError("RotateEvery", "RotateEvery and RotateGrace must not be negative")
	}
	if c.RotateEvery > 0 {
		if c.RotateGrace == 0 {
			c.RotateGrace = min(30*time.Second, c.RotateEvery/2)
		}
		if c.RotateGrace > c.RotateEvery/2 || c.RotateGrace > 5*time.Minute {
			return c, configError("RotateGrace", "%v must be at most half of RotateEvery (%v) and at most 5 minutes", c.RotateGrace, c.RotateEvery)
		}
	}
	if c.MaxDataSize == 0 {
		c.MaxDataSize = DefaultMaxDataSize
	}
	if c.MaxDataSize < 0 || c.MaxDataSize > MaxRecordSize/2 {
		return c, configError("MaxDataSize", "%d is outside 1..%d", c.MaxDataSize, MaxRecordSize/2)
	}
	if c.ErrorHandler == nil {
		c.ErrorHandler = DefaultErrorHandler
	}
	if c.ReauthHandler == nil {
		c.ReauthHandler = http.HandlerFunc(defaultReauth)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ClientIP == nil {
		c.ClientIP = remoteHost
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.GuessLimit == 0 {
		c.GuessLimit = 20
	}
	if c.GuessWindow == 0 {
		c.GuessWindow = 10 * time.Minute
	}
	if c.GuessClients == 0 {
		c.GuessClients = 10000
	}
	if c.GuessKey == nil {
		c.GuessKey = c.ClientIP
	}
	if c.GuessWindow < 0 || c.GuessCooldown < 0 || c.GuessClients < 0 {
		return c, configError("GuessWindow", "GuessWindow, GuessCooldown and GuessClients must not be negative")
	}
	if c.ClientBinding > BindUserAgentStrict {
		return c, configError("ClientBinding", "unknown value %d", c.ClientBinding)
	}
	return c, nil
}

// ClientBinding is what a Manager does when a session is used from a client
// other than the one it was issued to, as far as the User-Agent tells.
type ClientBinding uint8

const (
	// BindNone ignores the User-Agent.
	BindNone ClientBinding = iota
	// BindUserAgentEvent raises EventClientChanged and serves the request.
	BindUserAgentEvent
	// BindUserAgentStrict raises EventClientChanged and destroys the
	// session: the request is served without it. A stolen cookie replayed
	// from another browser dies at once; so does a session whose browser
	// updated itself, which signs its user out.
	BindUserAgentStrict
)

// validCookieName reports whether name is an RFC 6265 token.
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// DefaultErrorHandler is the default [Config.ErrorHandler]: 413 Request
// Entity Too Large for [ErrTooLarge], 429 Too Many Requests (with
// Retry-After) for [ErrTooManyBadTokens], 503 Service Unavailable for
// anything else. The body names no internal detail.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrTooLarge) {
		http.Error(w, "session data too large", http.StatusRequestEntityTooLarge)
		return
	}
	var tm *TooManyBadTokensError
	if errors.As(err, &tm) {
		w.Header().Set("Retry-After", fmt.Sprint(int(tm.RetryAfter.Seconds())+1))
		http.Error(w, "too many invalid session cookies", http.StatusTooManyRequests)
		return
	}
	w.Header().Set("Retry-After", "5")
	http.Error(w, "session service unavailable", http.StatusServiceUnavailable)
}

func defaultReauth(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "a recent sign-in is required", http.StatusUnauthorized)
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
