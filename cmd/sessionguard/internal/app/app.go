// Package app is the reference application of sessionguard: a sign-in /
// dashboard application in a secure mode, built on package session, and in
// a deliberately vulnerable mode that reproduces the session fixation bug
// of the case this project grew from (a Flask login/dashboard application
// that took its session ID from the URL and kept it across sign-in). It
// also opens the stores the command offers ([OpenStore]).
//
// `sessionguard serve` (package serve) serves it, and `sessionguard demo`
// (package demo) attacks both modes; it is internal to the command, and not
// an API.
package app

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// ReauthAge is how recent a sign-in must be to change the password.
const ReauthAge = 5 * time.Minute

// Config configures an [App].
type Config struct {
	// Store keeps the sessions. Required.
	Store store.Store
	// Accounts are the users who can sign in. Required.
	Accounts *Accounts
	// Vulnerable selects the deliberately vulnerable session handling.
	Vulnerable bool
	// BaselineUser, for load-test baselines only, replaces session handling
	// by nothing at all: every request is treated as signed in as this
	// user. It measures the pages without a session layer.
	BaselineUser string
	// Session configures the secure mode's session manager. OnEvent
	// defaults to session.LogEvents(Logger). Its Keys also sign what the
	// app carries in URLs (why a session ended, the notes of the sessions
	// page) and tag unknown user names in the log, each under a purpose of
	// its own (session.Keys.Derive), so that every instance given the same
	// keys honours the others' signatures. Without Keys the app makes a
	// random key set for itself at start-up (and the sessions' tokens carry
	// no tag): fine for one instance, but a redirect that lands on another
	// instance loses its message.
	Session session.Config
	// Location is the time zone of the times the pages show, which name
	// it. Default time.Local.
	Location *time.Location
	// Logger receives the app's log. Default slog.Default().
	Logger *slog.Logger
	// OnSignIn, when set, is called with the result of every attempt to
	// sign in through the form. serve --metrics counts them.
	OnSignIn func(SignInResult)
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// A SignInResult is the outcome of one attempt to sign in through the form.
type SignInResult string

// The results of a sign-in attempt.
const (
	SignInOK        SignInResult = "ok"        // the user is signed in
	SignInFailed    SignInResult = "failed"    // wrong user name or password
	SignInThrottled SignInResult = "throttled" // refused unchecked: too many recent failures
)

// SignInResults are every result of a sign-in attempt, in order.
var SignInResults = []SignInResult{SignInOK, SignInFailed, SignInThrottled}

// App is the reference application. It is an http.Handler, safe for
// concurrent use.
type App struct {
	cfg      Config
	layer    sessionLayer
	manager  *session.Manager // nil in vulnerable mode
	throttle *throttle
	handler  http.Handler
	// signers are the key sets derived from Session.Keys (or from random
	// keys), by purpose: what URLs carry, and the log's user tags.
	signers map[string]*session.Keys
}

// sessionLayer is what the pages need of session handling; the secure and the
// vulnerable mode implement it differently.
type sessionLayer interface {
	wrap(http.Handler) http.Handler
	user(r *http.Request) string
	login(w http.ResponseWriter, r *http.Request, user string, remember bool) error
	logout(w http.ResponseWriter, r *http.Request) error
	// query returns what links must carry for the session to follow them:
	// "" normally, "?session=ID" in the vulnerable mode when the ID came in
	// a URL.
	query(r *http.Request) string
}

// New builds the application.
func New(cfg Config) (*App, error) {
	if (cfg.Store == nil && cfg.BaselineUser == "") || cfg.Accounts == nil {
		return nil, errors.New("app: Config.Store and Config.Accounts are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OnSignIn == nil {
		cfg.OnSignIn = func(SignInResult) {}
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	a := &App{cfg: cfg, throttle: newThrottle(10_000, cfg.Now)}
	keys := cfg.Session.Keys
	if keys == nil {
		k, err := RandomKeys()
		if err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		keys = k
	}
	a.signers = map[string]*session.Keys{}
	for _, p := range []string{purposeEnded, purposeSessionsNote, purposeLogUser} {
		a.signers[p] = keys.Derive(p)
	}
	switch {
	case cfg.BaselineUser != "":
		a.layer = baselineLayer(cfg.BaselineUser)
	case cfg.Vulnerable:
		a.layer = &vulnerableLayer{store: cfg.Store, now: cfg.Now}
	default:
		sc := cfg.Session
		if sc.OnEvent == nil {
			sc.OnEvent = session.LogEvents(cfg.Logger)
		}
		if sc.ReauthHandler == nil {
			sc.ReauthHandler = http.HandlerFunc(reauth)
		}
		m, err := session.New(cfg.Store, sc)
		if err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		a.manager = m
		a.layer = secureLayer{m}
	}
	a.handler = a.routes()
	return a, nil
}

// Manager returns the secure mode's session manager, or nil in the
// vulnerable mode.
func (a *App) Manager() *session.Manager { return a.manager }

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.loginPage)
	mux.HandleFunc("POST /login", a.loginSubmit)
	mux.HandleFunc("GET /dashboard", a.signedIn(a.dashboard))
	mux.HandleFunc("POST /dashboard/note", a.signedIn(a.saveNote))
	mux.HandleFunc("GET /sessions", a.signedIn(a.sessionsPage))
	mux.HandleFunc("POST /sessions/revoke", a.signedIn(a.revoke))
	mux.HandleFunc("POST /sessions/revoke-others", a.signedIn(a.revokeOthers))
	pw := http.Handler(http.HandlerFunc(a.signedIn(a.password)))
	if a.manager != nil {
		pw = a.manager.RequireRecentAuth(ReauthAge)(pw)
	}
	mux.Handle("GET /account/password", pw)
	mux.Handle("POST /account/password", pw)
	mux.HandleFunc("POST /logout", a.logout)
	// Cross-origin form posts (login CSRF, forced logout) are refused.
	return http.NewCrossOriginProtection().Handler(a.layer.wrap(securityHeaders(mux)))
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// page is the data every template gets.
type page struct {
	Title, User, Error, Message, Next, Username, Fingerprint, Note string
	Notes                                                          int
	Q                                                              string
	Vulnerable, Reauth                                             bool
	AuthTime                                                       time.Time
	// Ended says why the user's last session ended (sign-in page).
	Ended string
	// Notices say calmly what the session layer ignored in the request.
	Notices []string
	// Sessions are the user's sessions (sessions page); Others counts
	// those that are not this one.
	Sessions []sessionRow
	Others   int
}

// sessionRow is one session on the sessions page.
type sessionRow struct {
	session.Info
	Device         string // a name a person recognises, from the User-Agent
	SignedIn, Seen string // AuthTime and LastSeen, with their zone
}

// showTime formats t for a page, in the app's zone, which it names.
func (a *App) showTime(t time.Time) string {
	return t.In(a.cfg.Location).Format("Jan 2 15:04:05 MST")
}

func (a *App) render(w http.ResponseWriter, r *http.Request, name string, code int, p page) {
	p.Vulnerable = a.cfg.Vulnerable
	if p.User == "" {
		p.User = a.layer.user(r)
	}
	if p.Notices == nil {
		p.Notices = notices(r, false)
	}
	p.Q = a.layer.query(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	if err := pages.ExecuteTemplate(&b, name, p); err != nil {
		a.cfg.Logger.Error("app: rendering page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(code)
	_, _ = w.Write([]byte(b.String()))
}

// redirect answers with a redirection to target, a path on this site that
// may have a query.
func (a *App) redirect(w http.ResponseWriter, r *http.Request, target string) {
	if q := a.layer.query(r); q != "" {
		if strings.Contains(target, "?") {
			q = "&" + q[1:]
		}
		target += q
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// toSignIn redirects a signed-out request to the sign-in page. A GET keeps
// where it was going in the next parameter (a path on this site, checked
// again when it is used; never kept in the session, which an attacker could
// have prepared), and the page is told why the session ended and what was
// ignored.
func (a *App) toSignIn(w http.ResponseWriter, r *http.Request) {
	q := url.Values{}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if next := localPath(r.URL.Path); next != "" && next != "/" && next != "/login" {
			q.Set("next", next)
		}
	}
	a.carryMessages(r, q)
	target := "/login"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	a.redirect(w, r, target)
}

func (a *App) signedIn(h func(w http.ResponseWriter, r *http.Request, user string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user := a.layer.user(r)
		if user == "" {
			a.toSignIn(w, r)
			return
		}
		h(w, r, user)
	}
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	if a.layer.user(r) != "" {
		a.redirect(w, r, "/dashboard")
		return
	}
	a.toSignIn(w, r)
}

func (a *App) loginPage(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, "login", http.StatusOK, page{Title: "Sign in", Next: localPath(r.FormValue("next")),
		Reauth: r.FormValue("reauth") != "", Ended: a.endedMessage(r), Notices: notices(r, true)})
}

// clientKey names the client for throttling.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "client:" + host
}

func (a *App) loginSubmit(w http.ResponseWriter, r *http.Request) {
	name, pw := r.PostFormValue("username"), r.PostFormValue("password")
	p := page{Title: "Sign in", Username: name, Next: localPath(r.PostFormValue("next"))}
	acctKey, cliKey := "account:"+name, clientKey(r)
	// The log names the account tried and the client; never the password,
	// nor a name that is no account's, which may be a password typed in
	// the wrong field.
	logAttrs := append(a.logUser(name), "client", strings.TrimPrefix(cliKey, "client:"))
	if d := max(a.throttle.wait(acctKey), a.throttle.wait(cliKey)); d > 0 {
		secs := int(math.Ceil(d.Seconds()))
		a.cfg.OnSignIn(SignInThrottled)
		a.cfg.Logger.Warn("app: sign-in refused: too many failures", append(logAttrs, "retry_after_s", secs)...)
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		p.Error = "Too many failed sign-ins. Try again in " + plural(secs, "second") + "."
		a.render(w, r, "login", http.StatusTooManyRequests, p)
		return
	}
	if name == "" || !a.cfg.Accounts.Verify(name, pw) {
		a.throttle.fail(acctKey)
		a.throttle.fail(cliKey)
		a.cfg.OnSignIn(SignInFailed)
		a.cfg.Logger.Warn("app: sign-in failed: wrong user name or password", logAttrs...)
		p.Error = "Wrong user name or password."
		a.render(w, r, "login", http.StatusUnauthorized, p)
		return
	}
	a.throttle.succeed(acctKey)
	a.throttle.succeed(cliKey)
	if err := a.layer.login(w, r, name, r.PostFormValue("remember") != ""); err != nil {
		a.cfg.Logger.Error("app: sign-in", "error", err)
		http.Error(w, "could not sign in", http.StatusInternalServerError)
		return
	}
	a.cfg.OnSignIn(SignInOK)
	next := p.Next
	if next == "" {
		next = "/dashboard"
	}
	a.redirect(w, r, next)
}

// logUser names the account a sign-in tried, for the log: user=NAME for
// an account that exists, else unknown_user=TAG, where TAG is a MAC of the
// text under the app's keys. The tag tells repeated attempts with one name
// apart from others, on every instance that shares the keys, and cannot be
// turned back into the text, which is often a password typed in the wrong
// field.
func (a *App) logUser(name string) []any {
	if a.cfg.Accounts.Known(name) {
		return []any{"user", name}
	}
	tag := a.signers[purposeLogUser].Sign([]byte(name))
	return []any{"unknown_user", hex.EncodeToString(tag[:6])}
}

// RandomKeys returns a key set of one random key, for an app or a serve
// started without keys.
func RandomKeys() (*session.Keys, error) {
	k := make([]byte, session.KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return session.NewKeys(k)
}

// plural returns "1 second", "2 seconds".
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// localPath returns p if it is a path on this site, else "": the next
// parameter must not become an open redirect.
func localPath(p string) string {
	u, err := url.Parse(p)
	if err != nil || p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") ||
		strings.HasPrefix(p, "/\\") || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return u.Path
}

func reauth(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/login?reauth=1&next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
}

func (a *App) dashboard(w http.ResponseWriter, r *http.Request, user string) {
	s := session.From(r)
	a.render(w, r, "dashboard", http.StatusOK, page{Title: "Dashboard", User: user, AuthTime: s.AuthTime(),
		Fingerprint: s.Fingerprint(), Note: s.GetString("note"), Notes: notes(s)})
}

// maxNote bounds a note, well inside the session's MaxDataSize.
const maxNote = 500

// saveNote keeps a short note in the session: the reference app's example
// of a session write. The secure mode stores it with Put; the vulnerable
// and baseline modes have nowhere to keep it.
func (a *App) saveNote(w http.ResponseWriter, r *http.Request, user string) {
	note := r.PostFormValue("note")
	if len(note) > maxNote {
		http.Error(w, fmt.Sprintf("a note has at most %d bytes", maxNote), http.StatusRequestEntityTooLarge)
		return
	}
	if s := session.From(r); s != nil {
		if err := s.Put("note", note); err != nil {
			a.storeFailure(w, r, err)
			return
		}
		if err := s.Put("notes", notes(s)+1); err != nil {
			a.storeFailure(w, r, err)
			return
		}
	}
	a.redirect(w, r, "/dashboard")
}

func (a *App) sessionsPage(w http.ResponseWriter, r *http.Request, user string) {
	p := page{Title: "Sessions", User: user, Message: a.sessionsNote(r.URL.Query().Get(paramNote))}
	if s := session.From(r); s != nil && !a.cfg.Vulnerable {
		infos, err := s.Sessions(r.Context())
		if err != nil {
			a.storeFailure(w, r, err)
			return
		}
		// This device first, then the others by last use.
		sort.SliceStable(infos, func(i, j int) bool { return infos[i].Current && !infos[j].Current })
		for _, in := range infos {
			p.Sessions = append(p.Sessions, sessionRow{Info: in, Device: deviceName(in.UserAgent),
				SignedIn: a.showTime(in.AuthTime), Seen: a.showTime(in.LastSeen)})
			if !in.Current {
				p.Others++
			}
		}
	}
	a.render(w, r, "sessions", http.StatusOK, p)
}

func (a *App) revoke(w http.ResponseWriter, r *http.Request, user string) {
	if a.manager == nil {
		http.Error(w, "not available in the vulnerable mode", http.StatusNotFound)
		return
	}
	err := a.manager.Revoke(r.Context(), user, r.PostFormValue("id"))
	switch {
	case errors.Is(err, session.ErrUnknownSession):
		a.toSessions(w, r, "gone")
	case err != nil:
		a.storeFailure(w, r, err)
	default:
		a.toSessions(w, r, "revoked")
	}
}

func (a *App) revokeOthers(w http.ResponseWriter, r *http.Request, user string) {
	if a.manager == nil {
		http.Error(w, "not available in the vulnerable mode", http.StatusNotFound)
		return
	}
	n, err := session.From(r).RevokeOthers(r.Context(), session.EndSignedOutElsewhere)
	if err != nil {
		a.storeFailure(w, r, err)
		return
	}
	a.toSessions(w, r, "others:"+strconv.Itoa(n))
}

// toSessions redirects to the sessions page with a sealed note: a code the
// page turns into a fixed text (sessionsNote), signed so that any instance
// sharing the keys shows it and no link can make it up.
func (a *App) toSessions(w http.ResponseWriter, r *http.Request, code string) {
	http.Redirect(w, r, "/sessions?"+url.Values{paramNote: {a.seal(purposeSessionsNote, code)}}.Encode(), http.StatusSeeOther)
}

func (a *App) password(w http.ResponseWriter, r *http.Request, user string) {
	p := page{Title: "Change password", User: user}
	if r.Method != http.MethodPost {
		a.render(w, r, "password", http.StatusOK, p)
		return
	}
	if !a.cfg.Accounts.Verify(user, r.PostFormValue("current")) {
		p.Error = "The current password is wrong."
		a.render(w, r, "password", http.StatusUnauthorized, p)
		return
	}
	if err := a.cfg.Accounts.SetPassword(user, r.PostFormValue("new")); err != nil {
		p.Error = err.Error()
		a.render(w, r, "password", http.StatusBadRequest, p)
		return
	}
	p.Message = "Password changed."
	if s := session.From(r); s != nil {
		n, err := s.RevokeOthers(r.Context(), session.EndCredentialsChanged)
		if err != nil {
			a.storeFailure(w, r, err)
			return
		}
		p.Message = fmt.Sprintf("Password changed. Signed out %s; this one was renewed.", plural(n, "other session"))
	}
	a.render(w, r, "password", http.StatusOK, p)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.layer.logout(w, r); err != nil {
		a.cfg.Logger.Error("app: sign-out", "error", err)
		http.Error(w, "could not sign out", http.StatusInternalServerError)
		return
	}
	a.redirect(w, r, "/login?"+url.Values{paramEnded: {a.seal(purposeEnded, session.EndSignedOut.String())}}.Encode())
}

func (a *App) storeFailure(w http.ResponseWriter, r *http.Request, err error) {
	a.cfg.Logger.Error("app: session store", "error", err)
	http.Error(w, "session service unavailable", http.StatusServiceUnavailable)
}

// baselineLayer is no session handling: a fixed user, for measuring the
// pages alone.
type baselineLayer string

func (l baselineLayer) wrap(h http.Handler) http.Handler { return h }
func (l baselineLayer) user(*http.Request) string        { return string(l) }
func (l baselineLayer) query(*http.Request) string       { return "" }
func (l baselineLayer) login(http.ResponseWriter, *http.Request, string, bool) error {
	return nil
}
func (l baselineLayer) logout(http.ResponseWriter, *http.Request) error { return nil }

// secureLayer is session handling done right: package session.
type secureLayer struct{ m *session.Manager }

func (l secureLayer) wrap(h http.Handler) http.Handler { return l.m.Handler(h) }
func (l secureLayer) user(r *http.Request) string      { return session.From(r).UserID() }
func (l secureLayer) query(*http.Request) string       { return "" }

func (l secureLayer) login(w http.ResponseWriter, r *http.Request, user string, remember bool) error {
	if remember {
		return session.From(r).Login(user, session.RememberMe())
	}
	return session.From(r).Login(user)
}

func (l secureLayer) logout(w http.ResponseWriter, r *http.Request) error {
	return session.From(r).Logout()
}

// notes returns how many notes the session has saved.
func notes(s *session.Session) int {
	n, _ := session.Value[int](s, "notes")
	return n
}
