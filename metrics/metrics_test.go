package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionguard/sessionguard/metrics"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/memstore"
	"github.com/sessionguard/sessionguard/store/storetest"
)

func TestEventsAndStoreLatency(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	st := memstore.New(memstore.Options{})
	defer st.Close()
	mgr, err := session.New(m.InstrumentStore(st), session.Config{OnEvent: m.Observe})
	if err != nil {
		t.Fatal(err)
	}
	h := mgr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			session.From(r).Login("alice")
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	for range 3 {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: strings.Repeat("A", 43)})
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	want := `
# HELP sessionguard_events_total Session lifecycle and security events, by kind.
# TYPE sessionguard_events_total counter
sessionguard_events_total{kind="insecure-cookie"} 1
sessionguard_events_total{kind="login"} 1
sessionguard_events_total{kind="unknown-token"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sessionguard_events_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "sessionguard_store_seconds"); n != 2 {
		t.Fatalf("%d store latency series, want 2 (sign_in ok, get not_found)", n)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("metrics endpoint: %d", resp.StatusCode)
	}
}

// The instrumented store is still a conforming store.
func TestInstrumentedStoreConforms(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		st := memstore.New(memstore.Options{})
		t.Cleanup(func() { st.Close() })
		return metrics.New(prometheus.NewRegistry()).InstrumentStore(st)
	})
}

// A store that counts gives an active-sessions gauge, read at scrape time.
func TestActiveSessionsGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	m := metrics.New(reg)
	mgr, err := session.New(m.InstrumentStore(st), session.Config{OnEvent: m.Observe})
	if err != nil {
		t.Fatal(err)
	}
	h := mgr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).Login("alice")
	}))
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/login", nil))
	}
	want := `
# HELP sessionguard_active_sessions Live session records in the store, read when scraped.
# TYPE sessionguard_active_sessions gauge
sessionguard_active_sessions 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sessionguard_active_sessions"); err != nil {
		t.Fatal(err)
	}
}

// callLog is a store over memstore that records the calls made to it, in
// order, by method name.
type callLog struct {
	*memstore.Store
	mu    sync.Mutex
	calls []string
}

func (c *callLog) log(name string) {
	c.mu.Lock()
	c.calls = append(c.calls, name)
	c.mu.Unlock()
}

func (c *callLog) Get(ctx context.Context, key string) (*store.Record, error) {
	c.log("Get")
	return c.Store.Get(ctx, key)
}

func (c *callLog) Create(ctx context.Context, rec *store.Record) error {
	c.log("Create")
	return c.Store.Create(ctx, rec)
}

func (c *callLog) Update(ctx context.Context, rec *store.Record) error {
	c.log("Update")
	return c.Store.Update(ctx, rec)
}

func (c *callLog) Rotate(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time) error {
	c.log("Rotate")
	return c.Store.Rotate(ctx, oldKey, oldVersion, next, graceUntil)
}

func (c *callLog) Delete(ctx context.Context, key string, reason store.Reason) error {
	c.log("Delete")
	return c.Store.Delete(ctx, key, reason)
}

func (c *callLog) ListUser(ctx context.Context, userID string) ([]*store.Record, error) {
	c.log("ListUser")
	return c.Store.ListUser(ctx, userID)
}

func (c *callLog) RevokeUser(ctx context.Context, userID, keep string, reason store.Reason) (store.Revocation, error) {
	c.log("RevokeUser")
	return c.Store.RevokeUser(ctx, userID, keep, reason)
}

func (c *callLog) RevokeLineage(ctx context.Context, userID, lineage string, reason store.Reason) (int, error) {
	c.log("RevokeLineage")
	return c.Store.RevokeLineage(ctx, userID, lineage, reason)
}

func (c *callLog) SignIn(ctx context.Context, in *store.SignIn) (store.SignedIn, error) {
	c.log("SignIn")
	return c.Store.SignIn(ctx, in)
}

func (c *callLog) Count(ctx context.Context) (int, error) {
	c.log("Count")
	return c.Store.Count(ctx)
}

// signInFlows runs sign-ins of every kind through a manager over st: a
// fresh one, one from an anonymous session, one past MaxSessionsPerUser,
// one refused by a revocation, and the revocation itself.
func signInFlows(t *testing.T, st store.Store) {
	mgr, err := session.New(st, session.Config{MaxSessionsPerUser: 2})
	if err != nil {
		t.Fatal(err)
	}
	var revoke bool
	h := mgr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		switch r.URL.Path {
		case "/cart":
			s.Put("cart", "1")
		case "/login":
			s.Login("alice")
			if revoke {
				// Another instance revokes while this sign-in runs.
				if _, err := mgr.RevokeAll(context.Background(), "alice", session.EndCredentialsChanged); err != nil {
					t.Error(err)
				}
			}
		}
	}))
	do := func(path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", path, nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	do("/login")
	anon := do("/cart").Result().Cookies()
	do("/login", anon...)
	time.Sleep(store.SignInMargin + 100*time.Millisecond)
	do("/login") // past the bound: the least recently used ends
	revoke = true
	if rec := do("/login"); rec.Code != http.StatusConflict {
		t.Errorf("sign-in overtaken by a revocation: %d, want 409", rec.Code)
	}
}

// TestInstrumentedSignInMakesTheSameCalls: a sign-in through
// InstrumentStore makes the same store calls, in the same order, as
// without it: a wrapper cannot lose the sign-in write, since it is part of
// store.Store, and the Counter the gauge reads is kept.
func TestInstrumentedSignInMakesTheSameCalls(t *testing.T) {
	newLog := func(t *testing.T) *callLog {
		st := memstore.New(memstore.Options{})
		t.Cleanup(func() { st.Close() })
		return &callLog{Store: st}
	}
	bare := newLog(t)
	signInFlows(t, bare)
	wrapped := newLog(t)
	inst := metrics.New(prometheus.NewRegistry()).InstrumentStore(wrapped)
	if _, ok := inst.(store.Counter); !ok {
		t.Error("InstrumentStore dropped the store.Counter of its store")
	}
	signInFlows(t, inst)
	if !slices.Equal(bare.calls, wrapped.calls) {
		t.Errorf("store calls without metrics:\n\t%v\nthrough InstrumentStore:\n\t%v", bare.calls, wrapped.calls)
	}
	if n := strings.Count(strings.Join(bare.calls, " "), "SignIn"); n != 4 {
		t.Errorf("%d SignIn calls for 4 sign-ins (%v)", n, bare.calls)
	}
	if slices.Contains(bare.calls, "ListUser") {
		t.Errorf("a sign-in listed the user's sessions: %v", bare.calls)
	}
}

// A store that cannot count gets no gauge, and the wrapper does not claim
// to count.
func TestInstrumentStoreCountsOnlyWhatCounts(t *testing.T) {
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	inst := metrics.New(prometheus.NewRegistry()).InstrumentStore(struct{ store.Store }{st})
	if _, ok := inst.(store.Counter); ok {
		t.Error("InstrumentStore of a store that cannot count is a store.Counter")
	}
}
