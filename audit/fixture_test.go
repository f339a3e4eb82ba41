package audit

import (
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// app configures a test application that behaves like a widely used
// framework. Every fixture is an httptest server on loopback.
type app struct {
	cookie               string // session cookie name; default "sid"
	userField, passField string // default "username", "password"

	csrf        string // "": none; else the CSRF cookie name (double submit, hidden field of the same name + "_token")
	anonSession bool   // the login page issues a session to anonymous visitors
	adopt       bool   // an unknown ID (cookie or URL) becomes a session with that ID
	renew       bool   // sign-in issues a new ID and deletes the old record
	// urlParam accepts the ID from the URL: a query parameter of that name
	// ("session": ?session=) or
	// "jsessionid" (;jsessionid= path parameter), and rewrites the form
	// action and redirects to carry it on.
	urlParam    string
	urlAdopted  bool   // the seed's app: an ID taken from the URL is also set as the cookie
	clientSide  bool   // the cookie is the signed session itself; logout only clears it
	signedID    string // express-session: the cookie is "s:"+id+"."+HMAC, URL-escaped, this prefix
	emptyAction bool   // the form has no action attribute (posts to its own URL)
	// hiddenID carries a URL-given ID on in a hidden form field instead of
	// the form action (PHP's trans_sid), and reads it back from the POST.
	hiddenID bool

	// getForm serves a login form without a method (so sent by GET) and
	// signs in on GET /login?username=…&password=….
	getForm bool
	// failShowsUser keeps a failed sign-in's user name in the session and
	// shows "Sign-in failed for NAME" on the dashboard.
	failShowsUser bool
	// formAuth is Servlet FORM authentication: the dashboard itself serves
	// the login form to a client not signed in, posting to
	// j_security_check.
	formAuth bool
	// keepURLID keeps an ID given in the URL across sign-in, while a
	// cookie session is renewed (with renew).
	keepURLID bool
	// companion names a second cookie set at sign-in to the user name;
	// the dashboard needs it as well as the session cookie.
	companion string
	// extraCookies is how many unrelated cookies the sign-in sets before
	// the session cookie.
	extraCookies int
	// csrfNoField sets the CSRF cookie but leaves the token out of the form
	// (a page script would add it): every sign-in gets 403.
	csrfNoField bool
	// deleteUnknown answers an unknown session ID with a deletion of the
	// cookie (an empty value, Max-Age=0) and no new ID.
	deleteUnknown bool
	// delay slows every response down.
	delay time.Duration
	// decoys follows the session cookie set at sign-in with a Set-Cookie of
	// the same name for another domain (rejected by browsers) and a
	// deletion on an old path.
	decoys bool
	// maxAge makes the session cookie persistent.
	maxAge int
	// signInLimit answers sign-ins beyond this many per signInWindow with
	// 429 Too Many Requests and Retry-After: retryAfter.
	signInLimit  int
	signInWindow time.Duration
	retryAfter   string
	// forbidUnknown answers 403 to a dashboard request carrying a session
	// ID the server does not hold.
	forbidUnknown bool
	// dropSignIn drops the connection on every sign-in request.
	dropSignIn bool
	// formAction, if set, is the login form's action (another origin).
	formAction string

	// originCheck refuses cross-origin POSTs with http.CrossOriginProtection.
	originCheck bool
	// refererCheck refuses a POST whose Referer is another site, and lets
	// one without a Referer through (a weak, common defence).
	refererCheck bool
	// absolute ends a session this long after it was created, however
	// busy.
	absolute time.Duration
	// headers are sent on every response; notFound, if set, is the body of
	// the 404 page (with notFoundType); hidden adds a hidden field of that
	// name to the login form.
	headers      map[string]string
	notFound     string
	notFoundType string
	hidden       string

	// Partial fixes, after real applications and published bugs.
	// keepOld renews at sign-in but keeps the old record signed in too
	// (PHP session_regenerate_id(false) after the user was set).
	keepOld bool
	// forwardOld renews at sign-in and, for this long, forwards a request
	// bearing the old ID to the new session, giving it the new ID (the PHP
	// manual's recipe for lost sessions on unstable networks).
	forwardOld time.Duration
	// deferRenew keeps the ID at sign-in and renews it on the next request
	// that bears it, handing the new ID to whoever sent that request.
	deferRenew bool
	// deviceCookie sets a persistent device cookie at sign-in and renews
	// (with renew) only on a browser's first sign-in, without it.
	deviceCookie bool
	deviceRenews bool // the fix: renew whatever the device cookie says
	// guestCookie is a cookie anonymous visitors of the login page get (a
	// guest cart); with guestToSession the sign-in makes its value the
	// session ID.
	guestCookie    string
	guestToSession bool
	// partCookie is a second part of the session ID (ColdFusion's CFTOKEN
	// beside CFID): both are issued together, both are needed, and both
	// are read from the URL too when urlParam is set.
	partCookie string
	// dropURLAtSignIn: a sign-in through a URL session redirects without
	// the ID (PHP trans_sid with an absolute redirect), so the victim's
	// next page does not look signed in.
	dropURLAtSignIn bool
	// flaskSecond makes the client-side session value depend on the user
	// and the current second only (itsdangerous): two sign-ins in one
	// second give the same signed value.
	flaskSecond bool
	// companionSigned signs the companion cookie: user.HMAC.
	companionSigned bool
	// jwt makes the client-side session a signed JWT (HS256) with sub and
	// iat.
	jwt bool
	// interstitial, if set, is a step between the password and the
	// dashboard, served at /step: "otp", "otp-words", "approve",
	// "trust-device", "password-change", "lock-screen".
	interstitial string
	// lockAfterFailures locks the account after this many failed sign-ins:
	// every later sign-in fails with "Your account is locked".
	lockAfterFailures int
	// forbidAllAfterLogout answers 403 to every request once a logout
	// happened (a firewall that blocks the client).
	forbidAllAfterLogout bool

	secure, httpOnly bool
	sameSite         http.SameSite
	domain           string
	noStore          bool

	loginRedirect  string // "": the dashboard is rendered by the POST itself
	logoutMethod   string // GET or POST; "" no logout
	logoutRedirect bool
	logoutLink     bool // the dashboard links/forms to the logout (else only --logout finds it)
	idle           time.Duration
	token          func(r *mrand.Rand) string
	user, password string
}

type appSession struct {
	user    string
	failed  string
	seen    time.Time
	created time.Time
	part    string    // partCookie's value
	pending bool      // deferRenew: renew on the next request
	forward string    // forwardOld: the new ID
	until   time.Time // forwardOld: the end of the forwarding
	stepped bool      // interstitial: the step was passed
}

type appServer struct {
	*httptest.Server
	cfg      app
	mu       sync.Mutex
	uris     []string // every request's method and URI
	rnd      *mrand.Rand
	sessions map[string]*appSession
	key      []byte
	requests int
	// signIns counts the requests that carried the password field, right
	// or wrong: the sign-ins the audit made, as the server saw them.
	signIns  int
	failures int  // failed sign-ins, for lockAfterFailures
	blocked  bool // forbidAllAfterLogout, once tripped
	// sign-in rate limit
	windowStart time.Time
	inWindow    int
}

const (
	testUser     = "alice"
	testPassword = "correct horse battery staple"
)

func tokenB64(r *mrand.Rand) string {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenHex(n int) func(*mrand.Rand) string {
	return func(r *mrand.Rand) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return hex.EncodeToString(b)
	}
}

// newApp starts the application; its random choices come from a seeded
// generator, so that a sequential audit of it is reproducible.
func newApp(t testing.TB, cfg app) *appServer {
	t.Helper()
	if cfg.cookie == "" {
		cfg.cookie = "sid"
	}
	if cfg.userField == "" {
		cfg.userField = "username"
	}
	if cfg.passField == "" {
		cfg.passField = "password"
	}
	if cfg.token == nil {
		cfg.token = tokenB64
	}
	if cfg.user == "" {
		cfg.user, cfg.password = testUser, testPassword
	}
	s := &appServer{cfg: cfg, rnd: mrand.New(mrand.NewChaCha8([32]byte{1, 2, 3})), sessions: map[string]*appSession{}, key: []byte("fixture signing key")}
	var h http.Handler = http.HandlerFunc(s.serve)
	if cfg.originCheck {
		h = http.NewCrossOriginProtection().Handler(h)
	}
	s.Server = httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// signInsSeen is how many sign-ins the server has seen.
func (s *appServer) signInsSeen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signIns
}

func (s *appServer) newToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.token(s.rnd)
}

func (s *appServer) sign(v string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(v))
	return base64.RawStdEncoding.EncodeToString(m.Sum(nil))
}

// state is what one request carries.
type state struct {
	id      string // server-side session ID, "" none
	fromURL bool
	user    string // signed-in user
	failed  string // user name of a failed sign-in
	client  bool   // client-side session present
	part    string // partCookie's value
	issue   string // a new ID to hand to this client (forwarded, renewed late)
}

func (s *appServer) cookieValue(id string) string {
	if s.cfg.signedID != "" {
		return url.QueryEscape(s.cfg.signedID + id + "." + s.sign(id))
	}
	return id
}

func (s *appServer) idFromCookie(v string) (string, bool) {
	if s.cfg.signedID == "" {
		return v, true
	}
	raw, err := url.QueryUnescape(v)
	if err != nil || !strings.HasPrefix(raw, s.cfg.signedID) {
		return "", false
	}
	raw = strings.TrimPrefix(raw, s.cfg.signedID)
	i := strings.LastIndex(raw, ".")
	if i < 0 || !hmac.Equal([]byte(raw[i+1:]), []byte(s.sign(raw[:i]))) {
		return "", false
	}
	return raw[:i], true
}

func (s *appServer) load(r *http.Request) state {
	var st state
	if s.cfg.clientSide {
		if c, err := r.Cookie(s.cfg.cookie); err == nil {
			if i := strings.LastIndex(c.Value, "."); i > 0 && hmac.Equal([]byte(c.Value[i+1:]), []byte(s.clientSig(c.Value[:i]))) {
				head, claims, _ := strings.Cut(c.Value[:i], ".")
				if s.cfg.jwt {
					head = claims
				}
				payload, _ := base64.RawURLEncoding.DecodeString(head)
				var m map[string]any
				if json.Unmarshal(payload, &m) == nil {
					st.client = true
					st.user, _ = m["u"].(string)
					if s.cfg.jwt {
						st.user, _ = m["sub"].(string)
					}
				}
			}
		}
		return st
	}
	cand := ""
	if s.cfg.urlParam != "" && s.cfg.urlParam != "jsessionid" {
		if v := r.URL.Query().Get(s.cfg.urlParam); v != "" {
			cand, st.fromURL = v, true
		} else if v := r.PostFormValue(s.cfg.urlParam); v != "" && s.cfg.hiddenID {
			cand, st.fromURL = v, true
		}
	}
	if s.cfg.urlParam == "jsessionid" {
		if i := strings.Index(r.URL.Path, ";jsessionid="); i >= 0 {
			cand, st.fromURL = r.URL.Path[i+len(";jsessionid="):], true
		}
	}
	if cand == "" || s.cfg.urlParam == "jsessionid" {
		// Tomcat prefers the cookie; the seed's app prefers the URL.
		if c, err := r.Cookie(s.cfg.cookie); err == nil && c.Value != "" {
			if id, ok := s.idFromCookie(c.Value); ok {
				cand, st.fromURL = id, false
			}
		}
	}
	if cand == "" {
		return st
	}
	part := s.partFrom(r, st.fromURL)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[cand]
	if ok && (s.cfg.idle > 0 && time.Since(sess.seen) > s.cfg.idle || s.cfg.absolute > 0 && time.Since(sess.created) > s.cfg.absolute) {
		delete(s.sessions, cand)
		ok = false
	}
	if ok && sess.forward != "" {
		fw, live := s.sessions[sess.forward]
		if ok = live && time.Now().Before(sess.until); ok {
			cand, sess, st.issue = sess.forward, fw, sess.forward
		}
	}
	if ok && s.cfg.partCookie != "" && sess.part != part {
		ok = false
	}
	if ok && sess.pending {
		id := s.cfg.token(s.rnd)
		s.sessions[id] = &appSession{user: sess.user, created: time.Now(), part: sess.part}
		delete(s.sessions, cand)
		cand, sess, st.issue = id, s.sessions[id], id
	}
	if !ok {
		if !s.cfg.adopt {
			return state{}
		}
		sess = &appSession{created: time.Now()}
		s.sessions[cand] = sess
	}
	sess.seen = time.Now()
	st.id, st.user, st.failed, st.part = cand, sess.user, sess.failed, sess.part
	if s.cfg.interstitial != "" && !sess.stepped {
		st.user, st.failed = "", sess.user // signed in with the password only
	}
	return st
}

// partFrom reads the second part of the ID (partCookie), from the URL
// when the first came from there, else from the cookie.
func (s *appServer) partFrom(r *http.Request, fromURL bool) string {
	if s.cfg.partCookie == "" {
		return ""
	}
	if fromURL {
		return r.URL.Query().Get(s.cfg.partCookie)
	}
	if c, err := r.Cookie(s.cfg.partCookie); err == nil {
		return c.Value
	}
	return ""
}

func (s *appServer) setCookie(w http.ResponseWriter, value string, maxAge int) {
	if maxAge == 0 && value != "" {
		maxAge = s.cfg.maxAge
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.cfg.cookie, Value: value, Path: "/", Domain: s.cfg.domain, MaxAge: maxAge,
		Secure: s.cfg.secure, HttpOnly: s.cfg.httpOnly, SameSite: s.cfg.sameSite,
	})
}

func (s *appServer) newSession(w http.ResponseWriter, user string) string {
	return s.newSessionID(w, user, s.newToken())
}

// newSessionID starts a session with the given ID (and a new second
// part, if the ID has one).
func (s *appServer) newSessionID(w http.ResponseWriter, user, id string) string {
	if user != "" {
		s.signedInCookies(w, user)
	}
	part := ""
	if s.cfg.partCookie != "" {
		part = crand.Text()
		http.SetCookie(w, &http.Cookie{Name: s.cfg.partCookie, Value: part, Path: "/"})
	}
	s.mu.Lock()
	s.sessions[id] = &appSession{user: user, seen: time.Now(), created: time.Now(), part: part}
	s.mu.Unlock()
	s.setCookie(w, s.cookieValue(id), 0)
	if s.cfg.decoys && user != "" {
		w.Header().Add("Set-Cookie", s.cfg.cookie+"=decoy; Domain=evil.example; Path=/")
		w.Header().Add("Set-Cookie", s.cfg.cookie+"=; Path=/legacy; Max-Age=0")
	}
	return id
}

// setClient sets a client-side session shaped like Flask's signed cookie
// (itsdangerous): base64url(JSON).timestamp.signature.
func (s *appServer) setClient(w http.ResponseWriter, user string) {
	var head string
	switch {
	case s.cfg.jwt:
		h, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
		p, _ := json.Marshal(map[string]any{"sub": user, "iat": time.Now().Unix()})
		head = base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	case s.cfg.flaskSecond:
		// itsdangerous: the payload and a timestamp, nothing random; the
		// clock is coarse here so that two sign-ins share it in any test.
		body, _ := json.Marshal(map[string]string{"u": user})
		ts := time.Now().Unix() / 60
		head = base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString([]byte{byte(ts >> 24), byte(ts >> 16), byte(ts >> 8), byte(ts)})
	default:
		body, _ := json.Marshal(map[string]string{"u": user, "n": s.newToken()})
		head = base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString([]byte{0x69, 0x2e, 0x1f, 0x40})
	}
	s.setCookie(w, head+"."+s.clientSig(head), 0)
}

func (s *appServer) clientSig(v string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// signedInCookies sets the cookies a sign-in sets besides the session.
func (s *appServer) signedInCookies(w http.ResponseWriter, user string) {
	for i := range s.cfg.extraCookies {
		http.SetCookie(w, &http.Cookie{Name: fmt.Sprintf("pref%d", i), Value: "x" + s.newToken(), Path: "/"})
	}
	if s.cfg.companion != "" {
		v := user
		if s.cfg.companionSigned {
			v = user + "." + s.clientSig(user)
		}
		http.SetCookie(w, &http.Cookie{Name: s.cfg.companion, Value: v, Path: "/"})
	}
	if s.cfg.deviceCookie {
		http.SetCookie(w, &http.Cookie{Name: "device", Value: crand.Text(), Path: "/", MaxAge: 86400 * 365})
	}
}

// carry adds the URL-carried session ID to a local URL, as URL-rewriting
// frameworks do.
func (s *appServer) carry(st state, path string) string {
	if !st.fromURL || st.id == "" {
		return path
	}
	if s.cfg.urlParam == "jsessionid" {
		return path + ";jsessionid=" + st.id
	}
	if s.cfg.partCookie != "" {
		return path + "?" + s.cfg.urlParam + "=" + url.QueryEscape(st.id) + "&" + s.cfg.partCookie + "=" + url.QueryEscape(st.part)
	}
	return path + "?" + s.cfg.urlParam + "=" + url.QueryEscape(st.id)
}

func (s *appServer) serve(w http.ResponseWriter, r *http.Request) {
	if s.cfg.delay > 0 {
		time.Sleep(s.cfg.delay)
	}
	s.mu.Lock()
	s.requests++
	s.uris = append(s.uris, r.Method+" "+r.RequestURI)
	s.mu.Unlock()
	for k, v := range s.cfg.headers {
		w.Header().Set(k, v)
	}
	if s.cfg.refererCheck && r.Method == http.MethodPost {
		if ref, err := url.Parse(r.Referer()); r.Referer() != "" && (err != nil || ref.Host != r.Host) {
			http.Error(w, "foreign referer", http.StatusForbidden)
			return
		}
	}
	path := stripPathParams(r.URL.Path)
	st := s.load(r)
	if s.cfg.deleteUnknown && st.id == "" && !s.cfg.adopt {
		if c, err := r.Cookie(s.cfg.cookie); err == nil && c.Value != "" {
			s.setCookie(w, "", -1)
		}
	}
	if s.cfg.urlAdopted && st.fromURL {
		s.setCookie(w, st.id, 0)
	}
	if st.issue != "" && !st.fromURL {
		s.setCookie(w, s.cookieValue(st.issue), 0)
	}
	s.mu.Lock()
	blocked := s.blocked
	s.mu.Unlock()
	if blocked {
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	switch path {
	case "/step":
		s.step(w, r, st)
	case "/login":
		s.login(w, r, st)
	case "/dashboard":
		if s.cfg.companion != "" && st.user != "" {
			want := st.user
			if s.cfg.companionSigned {
				want += "." + s.clientSig(st.user)
			}
			if c, err := r.Cookie(s.cfg.companion); err != nil || c.Value != want {
				st.user = ""
			}
		}
		if s.cfg.interstitial == "lock-screen" && st.failed != "" && st.id != "" {
			fmt.Fprintf(w, `<!doctype html><title>Locked</title><h1>Welcome back, %s</h1><p>Enter your password to unlock.</p><form method="post" action="/step"><input type="password" name="password"><button>Unlock</button></form>`, html.EscapeString(st.failed))
			return
		}
		if s.cfg.interstitial != "" && st.failed != "" && st.id != "" {
			http.Redirect(w, r, "/step", http.StatusFound)
			return
		}
		if s.cfg.forbidUnknown && st.id == "" {
			if c, err := r.Cookie(s.cfg.cookie); err == nil && c.Value != "" {
				http.Error(w, "unknown session", http.StatusForbidden)
				return
			}
		}
		switch {
		case st.user != "":
			s.dashboard(w, r, st)
		case s.cfg.formAuth:
			s.loginForm(w, r, st, "")
		case st.failed != "":
			fmt.Fprintf(w, `<!doctype html><title>Dashboard</title><p>Sign-in failed for %s. <a href="/login">Try again</a>`, html.EscapeString(st.failed))
		default:
			http.Redirect(w, r, "/login", http.StatusFound)
		}
	case "/j_security_check":
		s.login(w, r, st)
	case "/logout":
		s.logout(w, r, st)
	case "/":
		fmt.Fprint(w, `<!doctype html><title>Home</title><p>Welcome to the fixture. <a href="/login">Sign in</a>`)
	default:
		if s.cfg.notFound != "" {
			w.Header().Set("Content-Type", s.cfg.notFoundType)
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, s.cfg.notFound)
			return
		}
		http.NotFound(w, r)
	}
}

func (s *appServer) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if s.cfg.csrf == "" {
		return ""
	}
	if c, err := r.Cookie(s.cfg.csrf); err == nil && c.Value != "" {
		return c.Value
	}
	tok := s.newToken()
	http.SetCookie(w, &http.Cookie{Name: s.cfg.csrf, Value: tok, Path: "/", SameSite: http.SameSiteLaxMode})
	return tok
}

func (s *appServer) csrfOK(r *http.Request) bool {
	if s.cfg.csrf == "" {
		return true
	}
	c, err := r.Cookie(s.cfg.csrf)
	return err == nil && c.Value != "" && r.PostFormValue(s.cfg.csrf+"_token") == c.Value
}

func (s *appServer) login(w http.ResponseWriter, r *http.Request, st state) {
	if r.Method == http.MethodPost || s.cfg.getForm && r.FormValue(s.cfg.passField) != "" {
		if r.FormValue(s.cfg.passField) != "" {
			s.mu.Lock()
			s.signIns++
			s.mu.Unlock()
		}
		if s.cfg.dropSignIn {
			panic(http.ErrAbortHandler)
		}
		if s.cfg.signInLimit > 0 {
			s.mu.Lock()
			if time.Since(s.windowStart) > s.cfg.signInWindow {
				s.windowStart, s.inWindow = time.Now(), 0
			}
			s.inWindow++
			limited := s.inWindow > s.cfg.signInLimit
			s.mu.Unlock()
			if limited {
				w.Header().Set("Retry-After", s.cfg.retryAfter)
				http.Error(w, "too many sign-in attempts", http.StatusTooManyRequests)
				return
			}
		}
		if !s.csrfOK(r) {
			http.Error(w, "CSRF token missing or incorrect", http.StatusForbidden)
			return
		}
		s.mu.Lock()
		locked := s.cfg.lockAfterFailures > 0 && s.failures >= s.cfg.lockAfterFailures
		s.mu.Unlock()
		if locked {
			s.loginForm(w, r, st, "Your account is locked after too many failed sign-ins. Contact support.")
			return
		}
		if r.FormValue(s.cfg.userField) != s.cfg.user || r.FormValue(s.cfg.passField) != s.cfg.password {
			s.mu.Lock()
			s.failures++
			s.mu.Unlock()
			if s.cfg.failShowsUser {
				if st.id == "" {
					st.id = s.newSession(w, "")
				}
				s.mu.Lock()
				s.sessions[st.id].failed = r.FormValue(s.cfg.userField)
				s.mu.Unlock()
				http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
				return
			}
			s.loginForm(w, r, st, "Invalid user name or password.")
			return
		}
		switch {
		case s.cfg.clientSide:
			s.setClient(w, s.cfg.user)
		case st.id == "" || s.renews(r, st):
			st = s.renew(w, r, st)
		default:
			s.mu.Lock()
			s.sessions[st.id].user = s.cfg.user
			s.sessions[st.id].pending = s.cfg.deferRenew
			s.mu.Unlock()
			st.user = s.cfg.user
			s.signedInCookies(w, s.cfg.user)
		}
		if s.cfg.interstitial != "" && st.id != "" {
			http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
			return
		}
		if s.cfg.loginRedirect != "" {
			target := s.carry(st, s.cfg.loginRedirect)
			if s.cfg.dropURLAtSignIn {
				target = s.cfg.loginRedirect
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		s.dashboard(w, r, st)
		return
	}
	if s.cfg.guestCookie != "" {
		if _, err := r.Cookie(s.cfg.guestCookie); err != nil {
			http.SetCookie(w, &http.Cookie{Name: s.cfg.guestCookie, Value: s.newToken(), Path: "/"})
		}
	}
	if st.id == "" && !st.client && s.cfg.anonSession {
		if s.cfg.clientSide {
			s.setClient(w, "")
		} else {
			st.id = s.newSession(w, "")
		}
	}
	s.loginForm(w, r, st, "")
}

// renews says whether this sign-in issues a new ID.
func (s *appServer) renews(r *http.Request, st state) bool {
	if !s.cfg.renew || s.cfg.keepURLID && st.fromURL {
		return false
	}
	if _, err := r.Cookie("device"); err == nil && s.cfg.deviceCookie && !s.cfg.deviceRenews {
		return false // a browser that signed in before: "known device"
	}
	return true
}

// renew issues the new ID of a sign-in, and ends the old one as the
// application does: deleted, kept signed in (keepOld), or forwarding to
// the new one for a while (forwardOld).
func (s *appServer) renew(w http.ResponseWriter, r *http.Request, st state) state {
	id := s.newToken()
	if s.cfg.guestToSession {
		if c, err := r.Cookie(s.cfg.guestCookie); err == nil && c.Value != "" {
			id = c.Value // the guest cart's token becomes the session ID
		}
	}
	old, fromURL := st.id, st.fromURL
	st = state{id: s.newSessionID(w, s.cfg.user, id), user: s.cfg.user}
	st.fromURL = fromURL && s.cfg.urlParam != ""
	s.mu.Lock()
	defer s.mu.Unlock()
	st.part = s.sessions[st.id].part
	if o, ok := s.sessions[old]; ok && old != "" {
		switch {
		case s.cfg.keepOld:
			o.user = s.cfg.user
		case s.cfg.forwardOld > 0:
			o.forward, o.until = st.id, time.Now().Add(s.cfg.forwardOld)
		default:
			delete(s.sessions, old)
		}
	}
	return st
}

// step is the interstitial between the password and the dashboard.
func (s *appServer) step(w http.ResponseWriter, r *http.Request, st state) {
	if st.failed == "" {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	user := html.EscapeString(st.failed)
	switch s.cfg.interstitial {
	case "otp":
		fmt.Fprintf(w, `<!doctype html><title>Verify</title><h1>Hi %s</h1><form method="post"><label>Code <input name="otp" autocomplete="one-time-code" inputmode="numeric" maxlength="6"></label><button>Verify</button></form>`, user)
	case "otp-words":
		fmt.Fprintf(w, `<!doctype html><title>Two-factor authentication</title><p>Signed in as %s.</p><p>Enter the 6-digit code from your authenticator app.</p><form method="post"><input type="text" name="token"><button>Verify</button></form>`, user)
	case "approve":
		fmt.Fprintf(w, `<!doctype html><title>Sign-in request</title><p>Hello %s. Check your phone: approve the sign-in request in the app.</p><p>Waiting for approval…</p>`, user)
	case "trust-device":
		fmt.Fprintf(w, `<!doctype html><title>Welcome %s</title><p>Trust this device? You will not be asked for a code again on it.</p><form method="post"><button name="trust" value="yes">Trust</button><button name="trust" value="no">Don't trust</button></form>`, user)
	case "password-change":
		fmt.Fprintf(w, `<!doctype html><title>Password expired</title><p>%s, your password has expired. Choose a new password.</p><form method="post"><input type="password" name="new" autocomplete="new-password"><input type="password" name="confirm" autocomplete="new-password"><button>Change</button></form>`, user)
	case "otp-boxes": // a code typed one digit per box, in German
		fmt.Fprintf(w, `<!doctype html><title>Anmeldung bestätigen</title><p>Hallo %s, bitte den Code eingeben.</p><form method="post">%s<button>Weiter</button></form>`,
			user, strings.Repeat(`<input type="text" maxlength="1" name="d">`, 6))
	case "webauthn":
		fmt.Fprintf(w, `<!doctype html><title>Verify it's you</title><p>Signed in as %s.</p><p>Use your security key to continue.</p><button id="retry">Try again</button>`, user)
	case "password-change-adfs": // the user name shown, no autocomplete hint
		fmt.Fprintf(w, `<!doctype html><title>Update password</title><form method="post"><input type="email" name="UserName" value="%s"><input type="password" name="OldPassword"><input type="password" name="NewPassword"><input type="password" name="ConfirmNewPassword"><button>Submit</button></form>`, user)
	case "magic-link":
		fmt.Fprintf(w, `<!doctype html><title>Almost there</title><p>Thanks %s. We've sent you a sign-in link: check your email.</p>`, user)
	default:
		http.NotFound(w, r)
	}
}

func (s *appServer) loginForm(w http.ResponseWriter, r *http.Request, st state, msg string) {
	csrf := s.csrfToken(w, r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	action := ` action="` + html.EscapeString(s.carry(st, "/login")) + `"`
	hidden := ""
	method := ` method="post"`
	if s.cfg.getForm {
		method = ""
	}
	switch {
	case s.cfg.formAction != "":
		action = ` action="` + html.EscapeString(s.cfg.formAction) + `"`
	case s.cfg.emptyAction:
		action = ""
	case s.cfg.hiddenID && st.fromURL:
		action = ` action="/login"`
		hidden = `<input type="hidden" name="` + s.cfg.urlParam + `" value="` + html.EscapeString(st.id) + `">`
	}
	fmt.Fprintf(w, `<!doctype html><html><head><title>Sign in</title><script>var user = "alice";</script></head><body>
<nav><a href="%s">Home</a></nav>
<form%s%s>%s
<p>%s</p>
<label>User <input type="text" name="%s" value="%s" autocomplete="username"></label>
<label>Password <input type="password" name="%s"></label>
<label><input type="checkbox" name="remember"> Remember me</label>`,
		html.EscapeString(s.carry(st, "/")), method, action, hidden, msg, s.cfg.userField, html.EscapeString(r.PostFormValue(s.cfg.userField)), s.cfg.passField)
	if csrf != "" && !s.cfg.csrfNoField {
		fmt.Fprintf(w, `<input type="hidden" name="%s_token" value="%s">`, s.cfg.csrf, csrf)
	}
	if s.cfg.hidden != "" {
		fmt.Fprintf(w, `<input type="hidden" name="%s" value="fixture">`, html.EscapeString(s.cfg.hidden))
	}
	fmt.Fprint(w, `<button type="submit" name="action" value="signin">Sign in</button></form></body></html>`)
}

func (s *appServer) dashboard(w http.ResponseWriter, r *http.Request, st state) {
	csrf := s.csrfToken(w, r)
	if s.cfg.noStore {
		w.Header().Set("Cache-Control", "no-store")
	} else {
		w.Header().Set("Cache-Control", "private, max-age=0")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>Dashboard</title><h1>Welcome %s</h1>`, html.EscapeString(st.user))
	if s.cfg.logoutLink {
		switch s.cfg.logoutMethod {
		case http.MethodGet:
			fmt.Fprintf(w, `<a href="%s">Log out</a>`, html.EscapeString(s.carry(st, "/logout")))
		case http.MethodPost:
			fmt.Fprintf(w, `<form method="post" action="%s">`, html.EscapeString(s.carry(st, "/logout")))
			if s.cfg.csrf != "" {
				fmt.Fprintf(w, `<input type="hidden" name="%s_token" value="%s">`, s.cfg.csrf, csrf)
			}
			fmt.Fprint(w, `<button>Log out</button></form>`)
		}
	}
}

func (s *appServer) logout(w http.ResponseWriter, r *http.Request, st state) {
	if s.cfg.logoutMethod == "" || r.Method != s.cfg.logoutMethod {
		w.Header().Set("Allow", s.cfg.logoutMethod)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Method == http.MethodPost && !s.csrfOK(r) {
		http.Error(w, "CSRF token missing or incorrect", http.StatusForbidden)
		return
	}
	if st.id != "" {
		s.mu.Lock()
		delete(s.sessions, st.id)
		s.mu.Unlock()
	}
	s.setCookie(w, "", -1)
	if s.cfg.forbidAllAfterLogout {
		s.mu.Lock()
		s.blocked = true
		s.mu.Unlock()
	}
	if s.cfg.logoutRedirect {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	fmt.Fprint(w, `<!doctype html><title>Signed out</title><p>You have been signed out.`)
}

func tokenFrom(alphabet string, n int) func(*mrand.Rand) string {
	return func(r *mrand.Rand) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
}

func tokenBase32Hex(n int) func(*mrand.Rand) string { return tokenFrom(alphaBase32Hex, n) }

func tokenHexUpper(nBytes int) func(*mrand.Rand) string { return tokenFrom(alphaHexUpper, 2*nBytes) }

func tokenAlnum(n int) func(*mrand.Rand) string {
	return tokenFrom("abcdefghijklmnopqrstuvwxyz0123456789", n)
}

// tokenCounter is the weakest generator there is: a counter.
func tokenCounter() func(*mrand.Rand) string {
	n := 1000
	return func(*mrand.Rand) string {
		n++
		return fmt.Sprintf("%016x", n)
	}
}
