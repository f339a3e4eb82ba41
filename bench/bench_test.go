package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/sessions"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/memstore"
)

// A lib wraps the shared handler work in one session library.
type lib struct {
	name string
	// handler returns the handler for a case, wrapped in the library's
	// middleware.
	handler func(c string) http.Handler
	// cookieName is the name of the library's session cookie.
	cookieName string
}

// cookie returns the session cookie of a signed-in user with value "user"
// set to "alice" and "n" to 0, obtained through the library itself.
func (l lib) cookie(tb testing.TB) *http.Cookie { return l.issue(tb, "login", "POST") }

// anonCookie returns the session cookie of a new anonymous session holding
// "csrf" = "token", obtained through the library itself.
func (l lib) anonCookie(tb testing.TB) *http.Cookie { return l.issue(tb, "anon", "GET") }

// issue runs case c on a request without a cookie and returns the session
// cookie the library set.
func (l lib) issue(tb testing.TB, c, method string) *http.Cookie {
	tb.Helper()
	rec := httptest.NewRecorder()
	l.handler(c).ServeHTTP(rec, httptest.NewRequest(method, "/", nil))
	return sessionCookie(tb, rec, l.cookieName)
}

// signins numbers the users of the login-new-user case.
var signins atomic.Int64

// The handler work of each case, the same for every library: get and put
// are the library's own accessors.
func work(c string, w http.ResponseWriter, get func(string) string, put func(string, string), login func(string)) {
	switch c {
	case "read":
		w.Write([]byte(get("user")))
	case "write":
		n, _ := strconv.Atoi(get("n"))
		put("n", strconv.Itoa(n+1))
		w.Write([]byte(get("user")))
	case "login":
		// Sign-ins of one user again and again: past MaxSessionsPerUser
		// (100) on sessionguard, each ends the least recently used one.
		login("alice")
		w.Write([]byte("ok"))
	case "login-new-user":
		// A sign-in of a user within the session bound: a new user each time.
		login("user-" + strconv.FormatInt(signins.Add(1), 10))
		w.Write([]byte("ok"))
	case "anon":
		// A visitor's first page: an anonymous session holding one value, as
		// a sign-in form's CSRF token does.
		put("csrf", "token")
		w.Write([]byte("ok"))
	case "login-anon":
		// The sign-in that follows, from that anonymous session: the request
		// session fixation is about, which must replace the visitor's token.
		login("user-" + strconv.FormatInt(signins.Add(1), 10))
		w.Write([]byte("ok"))
	case "bare":
		w.Write([]byte("alice"))
	}
}

func sessionguardLib(tb testing.TB, store store.Store) lib {
	m, err := session.New(store, session.Config{OnEvent: func(session.Event) {}})
	if err != nil {
		tb.Fatal(err)
	}
	l := lib{name: "sessionguard", cookieName: session.DefaultCookieName}
	l.handler = func(c string) http.Handler {
		return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := session.From(r)
			work(c, w, s.GetString, func(k, v string) { s.Put(k, v) }, func(u string) {
				s.Login(u)
				s.Put("user", u)
			})
		}))
	}
	return l
}

func scsLib(tb testing.TB, store scs.Store) lib {
	sm := scs.New()
	if store != nil {
		sm.Store = store
	}
	l := lib{name: "scs", cookieName: sm.Cookie.Name}
	l.handler = func(c string) http.Handler {
		return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			work(c, w, func(k string) string { return sm.GetString(ctx, k) }, func(k, v string) { sm.Put(ctx, k, v) },
				func(u string) {
					sm.RenewToken(ctx)
					sm.Put(ctx, "user", u)
				})
		}))
	}
	return l
}

func gorillaLib(tb testing.TB) lib {
	store := sessions.NewCookieStore([]byte("0123456789abcdef0123456789abcdef"), []byte("0123456789abcdef0123456789abcdef"))
	l := lib{name: "gorilla", cookieName: "session"}
	l.handler = func(c string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "session")
			dirty := false
			get := func(k string) string { v, _ := s.Values[k].(string); return v }
			put := func(k, v string) { s.Values[k] = v; dirty = true }
			if c != "bare" {
				// gorilla has no middleware: the handler saves before writing.
				ww := &saveOnWrite{ResponseWriter: w, save: func() {
					if dirty {
						s.Save(r, w)
					}
				}}
				work(c, ww, get, put, func(u string) { put("user", u) })
				return
			}
			work(c, w, get, put, nil)
		})
	}
	return l
}

type saveOnWrite struct {
	http.ResponseWriter
	save  func()
	saved bool
}

func (s *saveOnWrite) Write(b []byte) (int, error) {
	if !s.saved {
		s.saved = true
		s.save()
	}
	return s.ResponseWriter.Write(b)
}

func sessionCookie(tb testing.TB, rec *httptest.ResponseRecorder, name string) *http.Cookie {
	tb.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	tb.Fatalf("no %s cookie in %v", name, rec.Header())
	return nil
}

func memoryLibs(tb testing.TB) []lib {
	st := memstore.New(memstore.Options{})
	tb.Cleanup(func() { st.Close() })
	return []lib{sessionguardLib(tb, st), scsLib(tb, nil), gorillaLib(tb)}
}

// request builds the request of a case: with the signed-in cookie except
// for login, which starts fresh.
func request(c string, cookie *http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	if !strings.HasPrefix(c, "login") && c != "bare" {
		r.AddCookie(cookie)
	}
	return r
}

// discard is a ResponseWriter that keeps only the header, so that the
// benchmark measures the libraries, not a recorder's buffer.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func run(b *testing.B, l lib, c string, cookie *http.Cookie) {
	h := l.handler(c)
	if c == "bare" {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { work(c, w, nil, nil, nil) })
	}
	req := request(c, cookie)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	ctx := context.Background()
	for b.Loop() {
		clear(w.h)
		// A fresh shallow copy per request, for every library: gorilla caches
		// the decoded session in the request it is given (*r = *r.WithContext),
		// which would otherwise turn every later iteration into a cache hit.
		h.ServeHTTP(w, req.WithContext(ctx))
	}
}

var cases = []string{"bare", "read", "write", "login"}

// anonCookies makes b.N anonymous sessions through the library, one for
// each request of login-anon: a sign-in consumes the session it starts
// from.
func anonCookies(b *testing.B, l lib) []*http.Cookie {
	cookies := make([]*http.Cookie, b.N)
	for i := range cookies {
		cookies[i] = l.anonCookie(b)
	}
	return cookies
}

// runCase runs case c of l as b's timed loop: login-anon signs in from
// anonymous sessions made before start is called (a sign-in consumes the
// session it starts from), the other cases use a signed-in cookie. start
// is where the caller reads the counters the case is measured by.
func runCase(b *testing.B, l lib, c string, start func()) {
	var anon []*http.Cookie
	if c == "login-anon" {
		anon = anonCookies(b, l)
	}
	cookie := l.cookie(b)
	start()
	if c == "login-anon" {
		runFromAnon(b, l, anon)
	} else {
		run(b, l, c, cookie)
	}
	b.StopTimer()
}

// requestFor is request(c, cookie), except for login-anon, which comes
// from a new anonymous session of l.
func requestFor(tb testing.TB, l lib, c string, cookie *http.Cookie) *http.Request {
	if c != "login-anon" {
		return request(c, cookie)
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.AddCookie(l.anonCookie(tb))
	return r
}

// runFromAnon runs login-anon: request i signs in from the anonymous
// session of cookies[i].
func runFromAnon(b *testing.B, l lib, cookies []*http.Cookie) {
	h := l.handler("login-anon")
	w := &discard{h: http.Header{}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clear(w.h)
		r := httptest.NewRequest("POST", "/", nil)
		r.AddCookie(cookies[i])
		h.ServeHTTP(w, r.WithContext(ctx))
	}
}

func BenchmarkMiddleware(b *testing.B) {
	libs := memoryLibs(b)
	for _, c := range cases {
		b.Run(c, func(b *testing.B) {
			for _, l := range libs {
				b.Run(l.name, func(b *testing.B) {
					cookie := l.cookie(b)
					run(b, l, c, cookie)
				})
			}
		})
	}
}

// TestSameWork checks that every library does the work of each case: the
// signed-in read returns the user, the write is visible to the next request,
// and login issues a session. It keeps the benchmark honest.
func TestSameWork(t *testing.T) {
	for _, l := range memoryLibs(t) {
		t.Run(l.name, func(t *testing.T) { checkLib(t, l) })
	}
}

func checkLib(t *testing.T, l lib) {
	cookie := l.cookie(t)
	rec := httptest.NewRecorder()
	l.handler("read").ServeHTTP(rec, request("read", cookie))
	if rec.Body.String() != "alice" {
		t.Fatalf("read: %q", rec.Body.String())
	}
	for range 3 {
		rec = httptest.NewRecorder()
		l.handler("write").ServeHTTP(rec, request("write", cookie))
		if c := rec.Result().Cookies(); len(c) > 0 && c[0].Name == cookie.Name {
			cookie = c[0] // gorilla carries the data in the cookie
		}
	}
	rec = httptest.NewRecorder()
	l.handler("read").ServeHTTP(rec, request("read", cookie))
	if got := rec.Body.String(); got != "alice" {
		t.Fatalf("read after writes: %q", got)
	}
}
