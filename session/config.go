package session

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/sessionguard/sessionguard/store"
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
	// DefaultMaxSessionsPerUser bounds the sessions of one user.
	DefaultMaxSessionsPerUser = 100
	// DefaultMaxTouchInterval caps the default Config.TouchInterval, which
	// is otherwise a thirtieth of the idle timeout.
	DefaultMaxTouchInterval = time.Minute
	// DefaultRotationGrace is Rotation.Grace when Rotation.Every is set.
	DefaultRotationGrace = 30 * time.Second
	// DefaultGuessLimit, DefaultGuessWindow, DefaultGuessClients and
	// DefaultIPv6Prefix are the defaults of [GuessingConfig].
	DefaultGuessLimit   = 20
	DefaultGuessWindow  = 10 * time.Minute
	DefaultGuessClients = 10000
	DefaultIPv6Prefix   = 64
	// insecureCookieName is the default name when Secure is turned off,
	// since browsers refuse a __Host- cookie without Secure.
	insecureCookieName = "sid"
)

// Config configures a [Manager]. The zero value is the secure default; every
// field documents its default. [New] rejects contradictory settings, and
// settings that would do nothing.
type Config struct {
	// Cookie sets the session cookie's name and attributes.
	Cookie CookieConfig

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
	// The timeouts apply to sessions created before a change too: when a
	// session loads, the shorter of the limits it was created with and the
	// configured ones for its kind of session applies.

	// Rotation turns on periodic rotation of signed-in sessions' tokens.
	// Default off.
	Rotation RotationConfig

	// MaxSessionsPerUser bounds the sessions one user may hold at once. A
	// sign-in beyond it ends the user's least recently used sessions, with
	// an [EventLimit] and the reason [EndLimit], in the store's one
	// sign-in write (store.Store.SignIn): no listing of the user's
	// sessions. It never ends a session used, or signed in, after the
	// signing-in request began (on the store's clock, less
	// store.SignInMargin): two sign-ins at once, a double-clicked form,
	// never sign each other out, and the bound may then be exceeded
	// briefly, until a later sign-in. Default 100; a negative value
	// removes the bound.
	MaxSessionsPerUser int

	// MaxDataSize bounds the encoded size of a session's values in bytes.
	// A commit over it fails with [ErrTooLarge]. Default 64 KiB.
	MaxDataSize int

	// ClearSiteDataOnLogout adds `Clear-Site-Data: "cache", "cookies",
	// "storage"` to the response of a [Session.Logout], so the browser also
	// drops other cookies and stored data of the origin. Default false.
	ClearSiteDataOnLogout bool

	// ErrorHandler writes the response when the session layer cannot do its
	// job: the store failed or timed out, a record could not be decoded, the
	// values were too large, the client is in a guessing cool-down. The
	// request is never served as if it had no session (invariant I9). err
	// wraps the cause; test it with errors.Is. Default
	// [DefaultErrorHandler].
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// ReauthHandler answers a request refused by [Manager.RequireRecentAuth]
	// because its sign-in is missing or too old. Typically it redirects to a
	// sign-in page. Default: 401 with a plain-text body.
	ReauthHandler http.Handler

	// OnEvent receives every [Event]. It is called synchronously on the
	// request path, possibly from several goroutines at once, and must not
	// block. Default: [LogEvents] to slog.Default(). To log and do more,
	// call LogEvents's function from your own.
	OnEvent func(Event)

	// ClientIP extracts the client address recorded in a session's metadata,
	// in events, and counted by the guessing detection. Default: the host
	// part of Request.RemoteAddr, or, when TrustedProxies is set,
	// [TrustedProxyClientIP] of those proxies (the address they forwarded).
	// Never trust forwarding headers blindly.
	ClientIP func(r *http.Request) string
	// TrustedProxies lists the addresses of reverse proxies whose
	// forwarding headers are believed: X-Forwarded-Proto, to decide whether
	// a request reached the application over HTTPS (for the
	// [EventInsecureCookie] warning), and X-Forwarded-For, for the client's
	// address when ClientIP is not set. Default none: a request is HTTPS
	// when the server terminated TLS itself, and the client is the
	// connection's peer.
	TrustedProxies []netip.Prefix

	// Guessing configures the detection of clients presenting tokens this
	// server never issued.
	Guessing GuessingConfig

	// Keys, when set, makes every token this server issues carry a tag, a
	// MAC of its random part under a sub-key of the current key, so that
	// any instance sharing the keys tells a token it issued from an
	// invented one without asking the store: an invented token is refused
	// before the store is asked and counts as a guess (Guessing), while a
	// token it issued counts as a guess never, even once the store has
	// forgotten it (an expired session swept, a Redis key dropped by its
	// TTL). Every instance must have the same keys, kept across restarts
	// (a key file or an environment variable: [ReadKeysFile],
	// [KeysFromEnv]). To rotate, make a new key current and keep the old
	// one listed until every session issued under it has ended
	// (RememberAbsoluteTimeout after the change): a token whose key is no
	// longer listed is refused. Tokens without a tag, issued before keys
	// were set, keep working. Keys also sign the notes that carry why a
	// session ended to the page after a redirect ([Session.Ended]), so
	// that every instance reads them. Default nil: tokens carry no tag,
	// only the store tells an issued token from a guess, and each Manager
	// signs its notes with a random key of its own.
	Keys *Keys

	// ClientBinding decides what happens when a session is used from a
	// client whose User-Agent differs from the one that created or signed
	// in to it. Default BindNone.
	ClientBinding ClientBinding

	// Now returns the current time. Default time.Now. For tests.
	Now func() time.Time
}

// CookieConfig sets the session cookie. The zero value is the secure
// default: __Host-sid; Secure; HttpOnly; SameSite=Lax; Path=/, no Domain,
// no Max-Age unless [RememberMe] is asked for.
type CookieConfig struct {
	// Name names the session cookie. Default "__Host-sid" (or "sid" with
	// InsecureWithoutSecure). The __Host- prefix makes browsers refuse the
	// cookie unless it is Secure, has Path=/ and no Domain, which stops a
	// sibling subdomain from planting one (cookie tossing). Prefixes are
	// recognised in any letter case, as browsers do.
	Name string
	// Domain sets the cookie's Domain attribute. Default none: the cookie is
	// host-only. Not allowed with a __Host- name. Setting it shares the
	// session with every subdomain, which is rarely wanted.
	Domain string
	// Path sets the cookie's Path. Default "/"; must be "/" with a __Host-
	// name.
	Path string
	// SameSite sets the cookie's SameSite attribute. Default
	// http.SameSiteLaxMode. http.SameSiteNoneMode requires Secure.
	SameSite http.SameSite
	// InsecureWithoutSecure drops the Secure attribute so that the cookie
	// works over plain HTTP. For local development only: a cookie without
	// Secure is sent in clear text and can be overwritten by any plain-HTTP
	// response on the path to the user. Default false. When set, the
	// default cookie name is "sid" and New raises an [EventInsecureCookie].
	InsecureWithoutSecure bool
}

// RotationConfig configures periodic rotation (invariants I3, I11, I12).
//
// A rotation never starts on a request whose response can no longer carry
// the new cookie: a hijacked connection (a WebSocket upgrade writes its
// own response), or a request whose context is done (the client went
// away, or an [http.TimeoutHandler] already answered). The first request
// that presents a rotated-in token records that it did, with one
// conditional write per rotation (merged with the request's own changes).
type RotationConfig struct {
	// Every, when positive, gives a signed-in session a fresh token once
	// its current token is this old, on the first request after that, which
	// narrows the use of a token stolen without the user noticing (OWASP
	// Session Management Cheat Sheet). Unlike a sign-in or
	// [Session.Renew], no privilege changes here, so the old token keeps
	// working for Grace, serving the new session, for requests the browser
	// sent before it had the new cookie. Default 0: off.
	Every time.Duration
	// Grace is how long a token replaced by a rotation keeps working: a
	// client whose requests carry a token rotated away less than Grace ago
	// is never signed out, whatever its parallelism, its retries, or how
	// many rotations old the token is. Forwarding never crosses a change of
	// authentication: after a sign-in, [Session.Renew],
	// [Session.RevokeOthers], a logout or a revocation, every older token
	// of the session is dead, inside its grace window or not.
	//
	// A rotated-away token presented after Grace (and before the old
	// session would have expired) is evidence that two parties hold the
	// session only if a client presented a later token of it: then the
	// whole session ends, with an [EventTokenReuse] and the reason
	// [EndReuse], as OAuth 2.0 refresh-token rotation reasons (RFC 9700
	// §4.14.2). When no client ever presented the successor (its reply was
	// lost on the network, dropped by a timeout, or answered with an error
	// by a store that had made the write), the holder of the old token is
	// handed a fresh successor instead, with an [EventReissued]; requests
	// it sent with the old token before that reply arrived are served for
	// another Grace. Default 30 seconds; it may exceed Every, and must not
	// exceed IdleTimeout. Setting it without Every is refused.
	Grace time.Duration
}

// GuessingConfig configures the detection of token guessing (WSTG-SESS-03):
// a client presenting many tokens this server never issued is guessing,
// or trying a fixation ID. Expired and signed-out tokens do not count:
// honest browsers hold them. Without [Config.Keys], tokens count only
// while the store can tell them apart: one it has forgotten entirely (a
// day after a sign-out, or once an expired record is swept) counts as
// never issued. With keys, a token whose tag verifies never counts, and
// one whose tag fails is refused before the store is asked.
type GuessingConfig struct {
	// Limit is how many never-issued or malformed tokens one client may
	// present within Window before an [EventTokenGuessing] is raised.
	// Default 20; a negative value turns detection off.
	Limit int
	// Window is the period over which bad tokens are counted. Default 10
	// minutes.
	Window time.Duration
	// Cooldown, when positive, refuses requests that carry a session
	// cookie from a client past Limit for this long, with
	// [ErrTooManyBadTokens] (429 Too Many Requests with Retry-After from
	// [DefaultErrorHandler]), unless the cookie holds a token whose tag
	// verifies (Config.Keys): that one is served, and the rest of the
	// request's tokens ignored. Default 0: events only. Refused when
	// detection is off.
	Cooldown time.Duration
	// Clients bounds how many clients are counted at once; the least
	// recently seen are forgotten first, except clients in a cool-down,
	// which a flood of new clients cannot push out. Default 10000.
	Clients int
	// Key names the client that bad tokens are counted against. Default:
	// ClientIP, with IPv6 addresses grouped by IPv6Prefix.
	Key func(r *http.Request) string
	// IPv6Prefix is the prefix length IPv6 clients are grouped by, since
	// one client usually holds a whole /64. Default 64.
	IPv6Prefix int
}

// ErrConfig is wrapped by every error [New] returns for a bad configuration.
var ErrConfig = errors.New("session: invalid configuration")

func configError(field, format string, args ...any) error {
	return fmt.Errorf("%w: Config.%s: %s", ErrConfig, field, fmt.Sprintf(format, args...))
}

// withDefaults returns c with defaults filled in, or an error naming the
// first offending field (invariant I7).
func (c Config) withDefaults() (Config, error) {
	for _, step := range []func(*Config) error{
		(*Config).cookieDefaults,
		(*Config).timeoutDefaults,
		(*Config).rotationDefaults,
		(*Config).limitDefaults,
		(*Config).hookDefaults,
		(*Config).guessingDefaults,
	} {
		if err := step(&c); err != nil {
			return c, err
		}
	}
	if c.Keys != nil && c.Keys.Len() == 0 {
		return c, configError("Keys", "holds no key: make it with NewKeys, ParseKeys, ReadKeysFile or KeysFromEnv")
	}
	if c.ClientBinding > BindUserAgentStrict {
		return c, configError("ClientBinding", "unknown value %d", c.ClientBinding)
	}
	return c, nil
}

// cookieDefaults fills in and checks Config.Cookie (invariant I7).
func (c *Config) cookieDefaults() error {
	ck := &c.Cookie
	if ck.Name == "" {
		ck.Name = DefaultCookieName
		if ck.InsecureWithoutSecure {
			ck.Name = insecureCookieName
		}
	}
	if !validCookieName(ck.Name) {
		return configError("Cookie.Name", "%q is not a valid cookie name", ck.Name)
	}
	if ck.Path == "" {
		ck.Path = "/"
	}
	if !strings.HasPrefix(ck.Path, "/") || strings.ContainsAny(ck.Path, ";\x00\r\n") {
		return configError("Cookie.Path", "%q must start with / and hold no ';' or control bytes", ck.Path)
	}
	if strings.ContainsAny(ck.Domain, ";, \x00\r\n") {
		return configError("Cookie.Domain", "%q is not a valid domain", ck.Domain)
	}
	// Browsers match the prefixes case-insensitively (RFC 6265bis §4.1.3),
	// so __HOST-sid gets the same constraints as __Host-sid.
	hostPrefix := hasPrefixFold(ck.Name, "__Host-")
	securePrefix := hostPrefix || hasPrefixFold(ck.Name, "__Secure-")
	if hostPrefix && ck.Domain != "" {
		return configError("Cookie.Domain", "a __Host- cookie must not have a Domain (it would be rejected by browsers)")
	}
	if hostPrefix && ck.Path != "/" {
		return configError("Cookie.Path", "a __Host- cookie must have Path=/, not %q", ck.Path)
	}
	if securePrefix && ck.InsecureWithoutSecure {
		return configError("Cookie.InsecureWithoutSecure", "cookie %q has a prefix that requires Secure; choose another Cookie.Name for plain-HTTP development", ck.Name)
	}
	switch ck.SameSite {
	case 0, http.SameSiteDefaultMode:
		ck.SameSite = http.SameSiteLaxMode
	case http.SameSiteLaxMode, http.SameSiteStrictMode:
	case http.SameSiteNoneMode:
		if ck.InsecureWithoutSecure {
			return configError("Cookie.SameSite", "SameSite=None requires Secure, but InsecureWithoutSecure is set")
		}
	default:
		return configError("Cookie.SameSite", "unknown mode %d", ck.SameSite)
	}
	return nil
}

// timeoutDefaults fills in and checks the deadlines (invariant I5).
func (c *Config) timeoutDefaults() error {
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
			return configError(d.name, "must not be negative, got %v", d.v)
		}
	}
	if c.IdleTimeout < time.Second {
		return configError("IdleTimeout", "%v is shorter than a second", c.IdleTimeout)
	}
	if c.AbsoluteTimeout < c.IdleTimeout {
		return configError("AbsoluteTimeout", "%v is shorter than IdleTimeout %v", c.AbsoluteTimeout, c.IdleTimeout)
	}
	if c.RememberIdleTimeout < c.IdleTimeout {
		return configError("RememberIdleTimeout", "%v is shorter than IdleTimeout %v", c.RememberIdleTimeout, c.IdleTimeout)
	}
	if c.RememberAbsoluteTimeout < c.RememberIdleTimeout {
		return configError("RememberAbsoluteTimeout", "%v is shorter than RememberIdleTimeout %v", c.RememberAbsoluteTimeout, c.RememberIdleTimeout)
	}
	if c.RememberAbsoluteTimeout < c.AbsoluteTimeout {
		return configError("RememberAbsoluteTimeout", "%v is shorter than AbsoluteTimeout %v", c.RememberAbsoluteTimeout, c.AbsoluteTimeout)
	}
	if c.TouchInterval == 0 {
		c.TouchInterval = min(c.IdleTimeout/30, DefaultMaxTouchInterval)
	}
	if c.TouchInterval >= c.IdleTimeout/2 {
		return configError("TouchInterval", "%v must be less than half of IdleTimeout %v", c.TouchInterval, c.IdleTimeout)
	}
	return nil
}

// rotationDefaults fills in and checks Config.Rotation.
func (c *Config) rotationDefaults() error {
	rot := &c.Rotation
	if rot.Every < 0 || rot.Grace < 0 {
		return configError("Rotation", "Every and Grace must not be negative")
	}
	if rot.Every == 0 && rot.Grace != 0 {
		return configError("Rotation.Grace", "%v does nothing without Rotation.Every", rot.Grace)
	}
	if rot.Every > 0 {
		if rot.Grace == 0 {
			rot.Grace = DefaultRotationGrace
		}
		if rot.Grace > c.IdleTimeout {
			return configError("Rotation.Grace", "%v is longer than IdleTimeout %v", rot.Grace, c.IdleTimeout)
		}
	}
	return nil
}

// limitDefaults fills in and checks the bounds on sessions and their data.
func (c *Config) limitDefaults() error {
	if c.MaxSessionsPerUser == 0 {
		c.MaxSessionsPerUser = DefaultMaxSessionsPerUser
	}
	if c.MaxDataSize == 0 {
		c.MaxDataSize = DefaultMaxDataSize
	}
	if c.MaxDataSize < 0 || c.MaxDataSize > store.MaxRecordSize/2 {
		return configError("MaxDataSize", "%d is outside 1..%d", c.MaxDataSize, store.MaxRecordSize/2)
	}
	return nil
}

// hookDefaults fills in the handlers and functions the application may
// replace. Behind trusted proxies, the client's address is the one they
// forwarded: one list, Config.TrustedProxies, decides both what the proxies
// are believed about (HTTPS, the client's address).
func (c *Config) hookDefaults() error {
	if c.ErrorHandler == nil {
		c.ErrorHandler = DefaultErrorHandler
	}
	if c.ReauthHandler == nil {
		c.ReauthHandler = http.HandlerFunc(defaultReauth)
	}
	if c.OnEvent == nil {
		// slog.Default is read per event, so that an application that sets
		// its logger after New is still heard.
		c.OnEvent = func(e Event) { logEvent(slog.Default(), e) }
	}
	if c.ClientIP == nil {
		c.ClientIP = remoteHost
		if len(c.TrustedProxies) > 0 {
			c.ClientIP = TrustedProxyClientIP(c.TrustedProxies...)
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// guessingDefaults fills in and checks Config.Guessing.
func (c *Config) guessingDefaults() error {
	g := &c.Guessing
	if g.Window < 0 || g.Cooldown < 0 || g.Clients < 0 {
		return configError("Guessing", "Window, Cooldown and Clients must not be negative")
	}
	if g.Limit < 0 && (g.Cooldown != 0 || g.Window != 0) {
		return configError("Guessing", "Window and Cooldown do nothing with detection off (Limit < 0)")
	}
	if g.Limit == 0 {
		g.Limit = DefaultGuessLimit
	}
	if g.Window == 0 {
		g.Window = DefaultGuessWindow
	}
	if g.Clients == 0 {
		g.Clients = DefaultGuessClients
	}
	if g.IPv6Prefix == 0 {
		g.IPv6Prefix = DefaultIPv6Prefix
	}
	if g.IPv6Prefix < 0 || g.IPv6Prefix > 128 {
		return configError("Guessing.IPv6Prefix", "%d is outside 1..128", g.IPv6Prefix)
	}
	if g.Key == nil {
		clientIP, bits := c.ClientIP, g.IPv6Prefix
		g.Key = func(r *http.Request) string { return groupIPv6(clientIP(r), bits) }
	}
	return nil
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
// Retry-After) for [ErrTooManyBadTokens], 409 Conflict for
// [ErrSignInRevoked] (nothing is down: the user signs in again), 503
// Service Unavailable for anything else. The body names no internal
// detail.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrTooLarge) {
		http.Error(w, "session data too large", http.StatusRequestEntityTooLarge)
		return
	}
	if errors.Is(err, ErrSignInRevoked) {
		http.Error(w, "sign-in cancelled: this account's sessions were just ended (for example after a password change); please sign in again", http.StatusConflict)
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
