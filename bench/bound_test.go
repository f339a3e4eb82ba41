package bench

import (
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/boltstore"
	"github.com/sessionguard/sessionguard/store/memstore"
	"github.com/sessionguard/sessionguard/store/sqlitestore"
)

// signInSpacing is how far the clock of the embedded-store benchmarks
// moves before each request of the login case: more than
// store.SignInMargin, so that every earlier session of the user is old
// enough for the bound to end, as when a person, a kiosk or a script signs
// in again. Signed in faster than the margin, a user keeps every session
// of the last SignInMargin over the bound (the store may not end a session
// that a concurrent sign-in could still be using), which measures a burst,
// not the bound.
const signInSpacing = store.SignInMargin + 50*time.Millisecond

// stepClock is a clock that moves only when told: the manager's and the
// store's clock in the embedded-store benchmarks.
type stepClock struct{ ns atomic.Int64 }

func newStepClock() *stepClock {
	c := &stepClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *stepClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *stepClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// boundCases are the sign-in cases of the bound benchmarks, in the shape
// of BenchmarkRedis and BenchmarkPostgres: login is one user signing in
// again and again past MaxSessionsPerUser (100), each sign-in ending the
// least recently used session; login-new-user a new user each time, within
// the bound; login-anon a new user from an anonymous session.
var boundCases = []string{"login-new-user", "login-anon", "login"}

// clockedLib is sessionguard on st with the manager on clk, the clock st
// reads too; the login case moves clk by signInSpacing before each
// request.
func clockedLib(tb testing.TB, st store.Store, clk *stepClock) lib {
	m, err := session.New(st, session.Config{OnEvent: func(session.Event) {}, Now: clk.Now})
	if err != nil {
		tb.Fatal(err)
	}
	l := lib{name: "sessionguard", cookieName: session.DefaultCookieName}
	inner := func(c string) http.Handler {
		return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := session.From(r)
			work(c, w, s.GetString, func(k, v string) { s.Put(k, v) }, func(u string) {
				s.Login(u)
				s.Put("user", u)
			})
		}))
	}
	l.handler = func(c string) http.Handler {
		h := inner(c)
		if c != "login" {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			clk.Add(signInSpacing)
			h.ServeHTTP(w, r)
		})
	}
	return l
}

// benchBound runs the sign-in cases on the store open returns, a fresh
// one per case. Read the figures as ratios between the cases (login over
// login-new-user), measured in the same run.
func benchBound(b *testing.B, open func(tb testing.TB, clk *stepClock) store.Store) {
	for _, c := range boundCases {
		b.Run(c, func(b *testing.B) {
			clk := newStepClock()
			l := clockedLib(b, open(b, clk), clk)
			if c == "login" {
				// The user reaches the bound before the timed loop: every
				// timed sign-in ends a session.
				h := l.handler(c)
				for range session.DefaultMaxSessionsPerUser {
					h.ServeHTTP(&discard{h: http.Header{}}, request(c, nil))
				}
			}
			runCase(b, l, c, func() {})
		})
	}
}

// The embedded stores of the bound benchmarks, each on clk.
var boundStores = []struct {
	name string
	open func(tb testing.TB, clk *stepClock) store.Store
}{
	{"memory", openMemory},
	{"bolt", openBolt},
	{"sqlite", openSQLite},
}

func openMemory(tb testing.TB, clk *stepClock) store.Store {
	st := memstore.New(memstore.Options{Now: clk.Now})
	tb.Cleanup(func() { st.Close() })
	return st
}

// openBolt opens a boltstore in a file on a disk (see benchDir): every
// sign-in is committed and synced.
func openBolt(tb testing.TB, clk *stepClock) store.Store {
	st, err := boltstore.Open(filepath.Join(benchDir(tb), "sessions.db"), boltstore.Options{SweepInterval: -1, Now: clk.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// openSQLite opens a sqlitestore in a file on a disk (see benchDir).
func openSQLite(tb testing.TB, clk *stepClock) store.Store {
	st, err := sqlitestore.Open(filepath.Join(benchDir(tb), "sessions.db"), sqlitestore.Options{SweepInterval: -1, Now: clk.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkMemory runs the sign-in cases on store/memstore.
func BenchmarkMemory(b *testing.B) { benchBound(b, openMemory) }

// BenchmarkBolt runs the sign-in cases on store/boltstore.
func BenchmarkBolt(b *testing.B) { benchBound(b, openBolt) }

// BenchmarkSQLite runs the sign-in cases on store/sqlitestore.
func BenchmarkSQLite(b *testing.B) { benchBound(b, openSQLite) }

// TestBoundBenchmarksSignInAtTheBound checks that the login case of the
// bound benchmarks measures sign-ins at the bound: after 130 of them the
// user holds MaxSessionsPerUser (100) sessions, each sign-in past the
// 100th having ended one.
func TestBoundBenchmarksSignInAtTheBound(t *testing.T) {
	const signIns, bound = 130, 100
	for _, s := range boundStores {
		t.Run(s.name, func(t *testing.T) {
			clk := newStepClock()
			st := s.open(t, clk)
			h := clockedLib(t, st, clk).handler("login")
			for range signIns {
				h.ServeHTTP(&discard{h: http.Header{}}, request("login", nil))
			}
			recs, err := st.ListUser(t.Context(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != bound {
				t.Errorf("after %d sign-ins: %d sessions, want %d", signIns, len(recs), bound)
			}
		})
	}
}
