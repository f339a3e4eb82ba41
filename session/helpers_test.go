package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/memstore"
)

// newMem returns a fresh memory store closed at the end of the test.
func newMem(t testing.TB) *memstore.Store {
	t.Helper()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	return st
}

// newMemAt returns a fresh memory store whose clock is clk, closed at the
// end of the test.
func newMemAt(t testing.TB, clk *clock) *memstore.Store {
	t.Helper()
	st := memstore.New(memstore.Options{Now: clk.Now})
	t.Cleanup(func() { st.Close() })
	return st
}

// events records every event a manager emits.
type events struct {
	mu   sync.Mutex
	list []session.Event
}

func (e *events) add(ev session.Event) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	e.mu.Unlock()
}

func (e *events) count(k session.EventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.list {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

func (e *events) all() []session.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]session.Event(nil), e.list...)
}

// clock is a settable time source for timeout tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is a manager over a store, with its events recorded.
type env struct {
	t      testing.TB
	m      *session.Manager
	store  store.Store
	ev     *events
	cookie string // the session cookie's name
}

func newEnv(t testing.TB, st store.Store, cfg session.Config) *env {
	t.Helper()
	ev := &events{}
	if cfg.OnEvent == nil {
		cfg.OnEvent = ev.add
	}
	m, err := session.New(st, cfg)
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	cookie := cfg.Cookie.Name
	if cookie == "" {
		cookie = session.DefaultCookieName
		if cfg.Cookie.InsecureWithoutSecure {
			cookie = "sid"
		}
	}
	return &env{t: t, m: m, store: st, ev: ev, cookie: cookie}
}

// do runs one request through the manager's middleware and h.
func (e *env) do(h http.HandlerFunc, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.m.Handler(h).ServeHTTP(rec, req)
	return rec
}

// get builds a request carrying the given session cookie values.
func (e *env) req(method, target string, tokens ...string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	for _, tok := range tokens {
		r.AddCookie(&http.Cookie{Name: e.cookie, Value: tok})
	}
	return r
}

// sessionCookie returns the session cookie a response set, or nil.
func sessionCookie(t testing.TB, rec *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			if found != nil {
				t.Fatalf("two Set-Cookie for %s in one response", name)
			}
			found = c
		}
	}
	return found
}

// token returns the token a response issued, failing the test if none.
func (e *env) token(rec *httptest.ResponseRecorder) string {
	e.t.Helper()
	c := sessionCookie(e.t, rec, e.cookie)
	if c == nil || c.Value == "" || c.MaxAge < 0 {
		e.t.Fatalf("response set no session cookie; headers: %v", rec.Header())
	}
	return c.Value
}

// Handlers used throughout.
var (
	putHandler = func(key, val string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := session.From(r).Put(key, val); err != nil {
				http.Error(w, err.Error(), 500)
			}
		}
	}
	loginHandler = func(user string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := session.From(r).Login(user); err != nil {
				http.Error(w, err.Error(), 500)
			}
		}
	}
	logoutHandler = func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Logout(); err != nil {
			http.Error(w, err.Error(), 500)
		}
	}
	// whoami writes "user=<id>" and the value of "k".
	whoami = func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		w.Write([]byte("user=" + s.UserID() + " k=" + s.GetString("k")))
	}
)

// user returns the user a request bearing tokens is signed in as.
func (e *env) user(tokens ...string) string {
	e.t.Helper()
	body := e.do(whoami, e.req("GET", "/", tokens...)).Body.String()
	u, _, _ := strings.Cut(strings.TrimPrefix(body, "user="), " ")
	return u
}

// faultStore wraps a store and fails the operations switched on.
type faultStore struct {
	store.Store
	failGet, failUpdate, failCreate, failRotate, failDelete, failSignIn atomic.Bool
	gets, updates, creates, rotates, deletes, signIns                   atomic.Int64
}

var errInjected = errors.New("injected store failure")

func (f *faultStore) Get(ctx context.Context, key string) (*store.Record, error) {
	f.gets.Add(1)
	if f.failGet.Load() {
		return nil, errInjected
	}
	return f.Store.Get(ctx, key)
}

func (f *faultStore) Create(ctx context.Context, rec *store.Record) error {
	f.creates.Add(1)
	if f.failCreate.Load() {
		return errInjected
	}
	return f.Store.Create(ctx, rec)
}

func (f *faultStore) Update(ctx context.Context, rec *store.Record) error {
	f.updates.Add(1)
	if f.failUpdate.Load() {
		return errInjected
	}
	return f.Store.Update(ctx, rec)
}

func (f *faultStore) Rotate(ctx context.Context, oldKey string, v uint64, next *store.Record, grace time.Time) error {
	f.rotates.Add(1)
	if f.failRotate.Load() {
		return errInjected
	}
	return f.Store.Rotate(ctx, oldKey, v, next, grace)
}

func (f *faultStore) SignIn(ctx context.Context, in *store.SignIn) (store.SignedIn, error) {
	f.signIns.Add(1)
	if f.failSignIn.Load() {
		return store.SignedIn{}, errInjected
	}
	return f.Store.SignIn(ctx, in)
}

func (f *faultStore) Delete(ctx context.Context, key string, reason store.Reason) error {
	f.deletes.Add(1)
	if f.failDelete.Load() {
		return errInjected
	}
	return f.Store.Delete(ctx, key, reason)
}

func (f *faultStore) RevokeLineage(ctx context.Context, userID, lineage string, reason store.Reason) (int, error) {
	f.deletes.Add(1)
	if f.failDelete.Load() {
		return 0, errInjected
	}
	return f.Store.RevokeLineage(ctx, userID, lineage, reason)
}
