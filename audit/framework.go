package audit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
)

// Confidence says how sure the framework recognition is.
type Confidence string

// Confidences. High: a mark only that framework leaves (its default
// session cookie, the format of its cookie values). Medium: a mark it
// shares with a few others, or two weak ones. Low: one weak mark.
const (
	ConfidenceHigh   Confidence = "high"
	ConfidenceMedium Confidence = "medium"
	ConfidenceLow    Confidence = "low"
)

// Framework is the web framework or session library the application
// appears to use, recognised from what it shows to any client: cookie
// names and the shape of their values, response headers, hidden fields of
// the login form and the error page for an unknown path.
type Framework struct {
	// ID is stable: php, express, flask-session, flask, django, servlet,
	// spring-security, rack, rails, laravel, scs, gorilla, mojolicious.
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Confidence Confidence `json:"confidence"`
	// Evidence lists what was seen, strongest first.
	Evidence []string `json:"evidence"`
}

// Fix is a remedy for a failed check in the terms of the application's
// framework (or generic when the framework was not recognised).
type Fix struct {
	// Framework is the framework's name; empty for generic advice.
	Framework string `json:"framework,omitempty"`
	Text      string `json:"text"`
	// Snippet is a short piece of code or configuration, in Language
	// (php, ini, js, python, java, xml, ruby, go, text).
	Snippet    string      `json:"snippet,omitempty"`
	Language   string      `json:"language,omitempty"`
	References []Reference `json:"references,omitempty"`
}

// observations are the marks a framework leaves, collected from every
// response of an audit.
type observations struct {
	mu      sync.Mutex
	cookies map[string]string // cookie name → first value seen
	headers map[string]string // header name → first value seen
}

// fingerprintHeaders are the response headers that name a platform.
var fingerprintHeaders = []string{"X-Powered-By", "Server", "X-Runtime", "X-Application-Context"}

// observe records the marks of one response.
func (e *env) observe(h http.Header, cookies []*http.Cookie) {
	e.obs.mu.Lock()
	defer e.obs.mu.Unlock()
	if e.obs.cookies == nil {
		e.obs.cookies, e.obs.headers = map[string]string{}, map[string]string{}
	}
	for _, c := range cookies {
		if _, ok := e.obs.cookies[c.Name]; !ok && c.Value != "" {
			e.obs.cookies[c.Name] = c.Value
		}
	}
	for _, n := range fingerprintHeaders {
		if _, ok := e.obs.headers[n]; !ok && h.Get(n) != "" {
			e.obs.headers[n] = h.Get(n)
		}
	}
}

// signals is everything the recognition looks at.
type signals struct {
	cookies        map[string]string // every cookie seen → a value
	sessionCookies []string          // the cookies that carry the session
	headers        map[string]string
	hiddenFields   []string // names of the login form's hidden fields
	loginPage      string   // the login page's visible text
	notFound       string   // body of the page for an unknown path
	notFoundType   string   // its Content-Type
	// hostSidDefaults: the session cookie is __Host-sid, stored Secure,
	// HttpOnly, SameSite=Lax, Path=/, host-only and without an expiry:
	// sessionguard's defaults.
	hostSidDefaults bool
}

// detectFramework gathers the signals (one visit to the login page and
// one to an unknown path, besides what the audit saw) and recognises the
// framework. It returns nil when nothing points to one.
func (a *auditor) detectFramework(ctx context.Context) *Framework {
	s := signals{sessionCookies: a.cookies}
	if k, c, ok := a.victim.jar.stored(a.checkURL, a.cookie); ok && k.name == "__Host-sid" {
		s.hostSidDefaults = c.secure && c.httpOnly && c.sameSite == http.SameSiteLaxMode && k.path == "/" && c.hostOnly && c.expires.IsZero()
	}
	b := a.env.newBrowser("visitor")
	if p, lf, err := a.fetchLoginForm(ctx, b, a.loginURL); err == nil {
		for _, f := range lf.fields {
			if f.typ == "hidden" {
				s.hiddenFields = append(s.hiddenFields, f.name)
			}
		}
		s.loginPage = visibleText(p.body, p.header.Get("Content-Type"))
	}
	buf := make([]byte, 6)
	if _, err := rand.Read(buf); err == nil {
		if u, err := a.env.resolve("/sessionguard-no-such-page-" + hex.EncodeToString(buf)); err == nil {
			if p, err := b.get(ctx, u); err == nil && p.status == http.StatusNotFound {
				s.notFound, s.notFoundType = string(p.body), p.header.Get("Content-Type")
			}
		}
	}
	a.env.obs.mu.Lock()
	s.cookies = maps.Clone(a.env.obs.cookies)
	s.headers = maps.Clone(a.env.obs.headers)
	a.env.obs.mu.Unlock()
	fw := recognise(s)
	if fw != nil {
		for i, e := range fw.Evidence {
			fw.Evidence[i] = a.env.redact(e)
		}
	}
	return fw
}

var (
	// Flask's signed cookie (itsdangerous): payload.timestamp.signature,
	// the payload JSON in base64url ("eyJ…") or zlib-compressed ("." first).
	flaskCookieRE = regexp.MustCompile(`^(eyJ[A-Za-z0-9_-]*|\.[A-Za-z0-9_-]+)\.[A-Za-z0-9_-]{4,8}\.[A-Za-z0-9_-]{20,}$`)
	// Mojolicious::Sessions: base64 JSON, "--", hex HMAC.
	mojoCookieRE = regexp.MustCompile(`^[A-Za-z0-9+/=_-]+--[0-9a-f]{40,}$`)
	// Rails' cookie store: data--digest or data--iv--tag (URL-escaped).
	railsCookieRE = regexp.MustCompile(`^[A-Za-z0-9+/%=_-]{16,}--[A-Za-z0-9+/%=_-]{8,}(--[A-Za-z0-9+/%=_-]{8,})?$`)
	railsNameRE   = regexp.MustCompile(`^_[A-Za-z0-9_-]+_session$`)
	laravelNameRE = regexp.MustCompile(`^[a-z0-9_]+_session$`)
	// A token of 43 base64url characters: 32 random bytes, as Go scs and
	// Flask-Session (secrets.token_urlsafe(32)) issue them.
	token43RE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	// gorilla/securecookie's plain text: "timestamp|value|mac".
	gorillaPlainRE = regexp.MustCompile(`^\d{9,11}\|`)
)

// gorillaValue reports whether v is a gorilla/securecookie value:
// base64url of "timestamp|value|mac".
func gorillaValue(v string) bool {
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil && gorillaPlainRE.Match(b) {
			return true
		}
	}
	return false
}

// laravelValue reports whether v is a Laravel encrypted cookie: base64 of
// {"iv":…,"value":…,"mac":…}.
func laravelValue(v string) bool {
	if u, err := url.QueryUnescape(v); err == nil {
		v = u
	}
	b, err := base64.StdEncoding.DecodeString(v)
	return err == nil && strings.HasPrefix(string(b), `{"iv":`)
}

// frameworkInfo names a framework.
var frameworkNames = map[string]string{
	"php":             "PHP sessions",
	"express":         "Express (express-session)",
	"flask-session":   "Flask with Flask-Session",
	"flask":           "Flask (signed cookie session)",
	"django":          "Django",
	"servlet":         "Java Servlet container (Tomcat, Jetty, …)",
	"spring-security": "Spring Security",
	"rack":            "Rack (Sinatra and other Rack applications)",
	"rails":           "Ruby on Rails",
	"laravel":         "Laravel",
	"scs":             "Go with alexedwards/scs",
	"sessionguard":    "Go with sessionguard",
	"go":              "Go net/http",
	"gorilla":         "Go with gorilla/sessions",
	"mojolicious":     "Mojolicious",
}

// recognise scores every framework on the signals and returns the best,
// or nil when none has any mark.
func recognise(s signals) *Framework {
	score := map[string]int{}
	evidence := map[string][]string{}
	add := func(id string, weight int, format string, args ...any) {
		score[id] += weight
		evidence[id] = append(evidence[id], printable(fmt.Sprintf(format, args...)))
	}
	names := make([]string, 0, len(s.cookies))
	for n := range s.cookies {
		names = append(names, n)
	}
	sort.Strings(names)
	isSession := func(n string) bool { return slices.Contains(s.sessionCookies, n) }
	kind := func(n string) string {
		if isSession(n) {
			return "session cookie"
		}
		return "cookie"
	}
	has := func(n string) bool { _, ok := s.cookies[n]; return ok }

	for _, n := range names {
		v := s.cookies[n]
		switch {
		case n == "PHPSESSID":
			add("php", 3, "%s %s (PHP's default name)", kind(n), n)
		case n == "JSESSIONID":
			add("servlet", 3, "%s %s (the Servlet default name)", kind(n), n)
		case n == "connect.sid":
			add("express", 3, "%s %s (express-session's default name)", kind(n), n)
		case n == "rack.session":
			add("rack", 3, "%s %s (Rack's default name)", kind(n), n)
		case n == "mojolicious":
			add("mojolicious", 3, "%s %s (Mojolicious' default name)", kind(n), n)
		case n == "laravel_session":
			add("laravel", 3, "%s %s (Laravel's default name)", kind(n), n)
		case n == "sessionid":
			w := 2
			if has("csrftoken") {
				w = 3
			}
			add("django", w, "%s %s (Django's default name)", kind(n), n)
		case n == "__Host-sid" && token43RE.MatchString(v):
			add("sessionguard", 2, "%s __Host-sid holding a 43-character (256-bit) random token (sessionguard's default name and token)", kind(n))
			if s.hostSidDefaults {
				add("sessionguard", 1, "__Host-sid stored as sessionguard sets it: Secure, HttpOnly, SameSite=Lax, Path=/, host-only, no expiry")
			}
		case n == "csrftoken":
			add("django", 1, "cookie csrftoken (Django's CSRF cookie)")
		case n == "XSRF-TOKEN":
			add("laravel", 1, "cookie XSRF-TOKEN (set by Laravel, also read by Angular)")
		case railsNameRE.MatchString(n):
			add("rails", 3, "%s %s (Rails names it _APPNAME_session)", kind(n), n)
		case laravelNameRE.MatchString(n) && has("XSRF-TOKEN"):
			add("laravel", 3, "%s %s with an XSRF-TOKEN cookie (Laravel names it APPNAME_session)", kind(n), n)
		case n == "session":
			switch {
			case flaskCookieRE.MatchString(v):
				add("flask", 3, "%s session holds a signed Flask (itsdangerous) value: the session data itself", kind(n))
			case token43RE.MatchString(v):
				add("flask-session", 1, "%s session holds a 43-character random ID (Flask-Session and Go scs both issue such IDs under this name)", kind(n))
				add("scs", 1, "%s session holds a 43-character random ID (Flask-Session and Go scs both issue such IDs under this name)", kind(n))
			}
		}
		if isSession(n) {
			switch {
			case strings.HasPrefix(v, "s%3A") || strings.HasPrefix(v, "s:"):
				add("express", 2, "%s value is signed as s:ID.SIGNATURE (cookie-signature, used by express-session)", n)
			case gorillaValue(v):
				add("gorilla", 3, "%s value is a gorilla/securecookie encoding (timestamp|value|MAC)", n)
			case laravelValue(v):
				add("laravel", 2, "%s value is a Laravel encrypted cookie ({\"iv\",\"value\",\"mac\"})", n)
			case n != "session" && flaskCookieRE.MatchString(v):
				add("flask", 2, "%s value is a signed Flask (itsdangerous) value", n)
			case mojoCookieRE.MatchString(v):
				add("mojolicious", 2, "%s value is a Mojolicious signed cookie (data--HMAC)", n)
			case railsNameRE.MatchString(n) && railsCookieRE.MatchString(v):
				add("rails", 1, "%s value has the shape of Rails' cookie store (the session data itself, encrypted)", n)
			}
		}
	}

	hdr := func(name string) string { return s.headers[name] }
	short := func(v string) string {
		if r := []rune(v); len(r) > 60 {
			return string(r[:60]) + "…"
		}
		return v
	}
	if v := hdr("X-Powered-By"); v != "" {
		lv := strings.ToLower(v)
		switch {
		case strings.Contains(lv, "php"):
			add("php", 2, "X-Powered-By: %s", short(v))
			if has("XSRF-TOKEN") {
				add("laravel", 1, "X-Powered-By: %s with an XSRF-TOKEN cookie", short(v))
			}
		case strings.Contains(lv, "express"):
			add("express", 2, "X-Powered-By: %s", short(v))
		case strings.Contains(lv, "servlet") || strings.Contains(lv, "jsp"):
			add("servlet", 1, "X-Powered-By: %s", short(v))
		}
	}
	if v := hdr("Server"); v != "" {
		lv := strings.ToLower(v)
		switch {
		case strings.Contains(lv, "werkzeug"):
			add("flask", 1, "Server: %s", short(v))
			add("flask-session", 1, "Server: %s", short(v))
		case strings.Contains(lv, "coyote") || strings.Contains(lv, "tomcat") || strings.Contains(lv, "jetty"):
			add("servlet", 1, "Server: %s", short(v))
		case strings.Contains(lv, "mojolicious"):
			add("mojolicious", 2, "Server: %s", short(v))
		}
	}
	if v := hdr("X-Runtime"); v != "" {
		add("rails", 1, "X-Runtime header (set by Rack::Runtime, on by default in Rails)")
	}
	if v := hdr("X-Application-Context"); v != "" {
		add("spring-security", 1, "X-Application-Context header (Spring Boot)")
	}

	for _, f := range s.hiddenFields {
		switch f {
		case "csrfmiddlewaretoken":
			add("django", 2, "the login form has Django's hidden field csrfmiddlewaretoken")
		case "authenticity_token":
			add("rails", 2, "the login form has Rails' hidden field authenticity_token")
		case "_token":
			add("laravel", 1, "the login form has a hidden field _token (Laravel's CSRF field)")
		case "_csrf":
			add("spring-security", 1, "the login form has a hidden field _csrf (Spring Security's CSRF field)")
		}
	}
	if strings.Contains(s.loginPage, "Please sign in") && slices.Contains(s.hiddenFields, "_csrf") {
		add("spring-security", 2, "the login page is Spring Security's default (\"Please sign in\" with _csrf)")
	}

	nf := s.notFound
	switch {
	case strings.Contains(nf, "Whitelabel Error Page"):
		add("spring-security", 2, "the page for an unknown path is Spring Boot's Whitelabel Error Page")
	case strings.Contains(nf, "<pre>Cannot GET "):
		add("express", 2, "the page for an unknown path is Express' \"Cannot GET …\"")
	case strings.Contains(nf, "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."):
		add("flask", 1, "the page for an unknown path is Werkzeug's (Flask's) 404 page")
		add("flask-session", 1, "the page for an unknown path is Werkzeug's (Flask's) 404 page")
	case strings.TrimSpace(nf) == "404 page not found" && strings.HasPrefix(s.notFoundType, "text/plain"):
		// Any Go server says this: it only supports a Go session library
		// seen in the cookies.
		goLib := false
		for _, id := range []string{"scs", "gorilla", "sessionguard"} {
			if score[id] > 0 {
				goLib = true
				add(id, 1, "the page for an unknown path is Go net/http's \"404 page not found\"")
			}
		}
		if !goLib {
			add("go", 1, "the page for an unknown path is Go net/http's \"404 page not found\" (no Go session library seen)")
		}
	case strings.Contains(nf, "Apache Tomcat"):
		add("servlet", 1, "the page for an unknown path is Apache Tomcat's")
	case strings.Contains(nf, "The page you were looking for doesn't exist"):
		add("rails", 1, "the page for an unknown path is Rails' public/404.html")
	case strings.Contains(nf, "Sinatra doesn") || strings.Contains(nf, "Sinatra doesn’t know this ditty"):
		add("rack", 2, "the page for an unknown path is Sinatra's")
	}

	// Spring Security runs in a Servlet container: its own marks come on
	// top of the container's.
	if score["spring-security"] > 0 && score["servlet"] > 0 {
		score["spring-security"] += score["servlet"]
		evidence["spring-security"] = append(evidence["servlet"], evidence["spring-security"]...)
		delete(score, "servlet")
	}
	best, bestScore := "", 0
	ids := make([]string, 0, len(score))
	for id := range score {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if score[id] > bestScore {
			best, bestScore = id, score[id]
		}
	}
	if best == "" {
		return nil
	}
	conf := ConfidenceLow
	switch {
	case bestScore >= 3:
		conf = ConfidenceHigh
	case bestScore == 2:
		conf = ConfidenceMedium
	}
	// Two frameworks equally likely: say so, and lower the confidence.
	for _, id := range ids {
		if id != best && score[id] == bestScore {
			if conf == ConfidenceHigh {
				conf = ConfidenceMedium
			} else {
				conf = ConfidenceLow
			}
			evidence[best] = append(evidence[best], "as likely: "+frameworkNames[id])
			break
		}
	}
	return &Framework{ID: best, Name: frameworkNames[best], Confidence: conf, Evidence: evidence[best]}
}

// printable drops control characters (a header value could carry
// terminal escapes) from text the target supplied.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
