package sessiontest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/memstore"
)

// A Manager is a session.Manager for tests: its sessions live in a
// memstore.Store, its time is a [Clock], and its events go to a [Recorder]
// instead of the log. It embeds the *session.Manager, so Handler,
// RequireRecentAuth, UserSessions and the rest are its own.
type Manager struct {
	*session.Manager
	// Clock is the Manager's time; advance it to age sessions.
	Clock *Clock
	// Events records every event the Manager raises.
	Events *Recorder
	// Store holds the sessions.
	Store *memstore.Store

	cookieName string
	idle       time.Duration // the effective Config.IdleTimeout
	touch      time.Duration // the effective Config.TouchInterval
	absolute   time.Duration // the effective Config.AbsoluteTimeout
}

// NewManager returns a Manager built with cfg over a new memstore.Store,
// with Config.Now set to a new [Clock] that starts at the current time and
// Config.OnEvent set to record into a new [Recorder] and then call the
// OnEvent cfg gave, if any. Nothing is logged unless cfg's OnEvent logs.
// The caller must call [Manager.Close] when done.
//
// Like httptest.NewServer and httptest.NewRequest it panics on a mistake
// (cfg rejected by session.New, or cfg.Now set: the Clock is the time
// source), so that a test reads in one line.
func NewManager(cfg session.Config) *Manager {
	if cfg.Now != nil {
		panic("sessiontest: NewManager sets Config.Now to its Clock; leave Config.Now nil and advance Manager.Clock")
	}
	m := &Manager{Clock: NewClock(time.Now()), Events: new(Recorder), Store: memstore.New(memstore.Options{})}
	cfg.Now = m.Clock.Now
	if also := cfg.OnEvent; also != nil {
		cfg.OnEvent = func(e session.Event) { m.Events.Record(e); also(e) }
	} else {
		cfg.OnEvent = m.Events.Record
	}
	sm, err := session.New(m.Store, cfg)
	if err != nil {
		m.Store.Close()
		panic(fmt.Sprintf("sessiontest: NewManager: %v", err))
	}
	m.Manager = sm
	m.cookieName, m.idle, m.touch, m.absolute = effective(cfg)
	return m
}

// effective returns the cookie name and timeouts session.New chose for
// cfg, which it accepted.
func effective(cfg session.Config) (name string, idle, touch, absolute time.Duration) {
	name, idle, touch, absolute = cfg.Cookie.Name, cfg.IdleTimeout, cfg.TouchInterval, cfg.AbsoluteTimeout
	if name == "" {
		name = session.DefaultCookieName
		if cfg.Cookie.InsecureWithoutSecure {
			name = "sid"
		}
	}
	if idle == 0 {
		idle = session.DefaultIdleTimeout
	}
	if absolute == 0 {
		absolute = session.DefaultAbsoluteTimeout
	}
	if touch == 0 {
		touch = min(idle/30, time.Minute)
	}
	return name, idle, touch, absolute
}

// Close closes the Manager's store. Requests served after Close fail
// closed, as with any store that cannot be reached.
func (m *Manager) Close() {
	if err := m.Store.Close(); err != nil {
		panic(fmt.Sprintf("sessiontest: closing the store: %v", err))
	}
}

// CookieName returns the name of the Manager's session cookie.
func (m *Manager) CookieName() string { return m.cookieName }

// Login signs userID in to a new session and returns its cookie, as a
// browser would hold it after the application's sign-in. The session is
// made by Session.Login on a request served by the Manager's own Handler,
// so it is exactly what a sign-in makes: it has its own fresh token, a
// sign-in time (RequireRecentAuth lets it through until the Clock moves),
// and it counts towards Config.MaxSessionsPerUser. opts are passed to
// Login. The synthetic request came over HTTPS from 192.0.2.1 with the
// User-Agent "Go-http-client/1.1", which is what an http.Client sends.
//
// Add the cookie to a request with (*http.Request).AddCookie, or use
// [Manager.Client]. Login panics if the Manager cannot sign the user in
// (an empty userID, a closed store).
func (m *Manager) Login(userID string, opts ...session.LoginOption) *http.Cookie {
	var loginErr error
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loginErr = session.From(r).Login(userID, opts...)
	}))
	r := httptest.NewRequest(http.MethodPost, "https://sessiontest.invalid/", nil)
	r.Header.Set("User-Agent", "Go-http-client/1.1")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if loginErr != nil {
		panic(fmt.Sprintf("sessiontest: Login(%q): %v", userID, loginErr))
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == m.cookieName && c.MaxAge >= 0 {
			return c
		}
	}
	panic(fmt.Sprintf("sessiontest: Login(%q): no session cookie was set (status %d: %s)", userID, w.Code, w.Body))
}
