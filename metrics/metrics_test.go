package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
	if n := testutil.CollectAndCount(reg, "sessionguard_store_seconds"); n != 3 {
		t.Fatalf("%d store latency series, want 3 (create ok, list_user ok for the session limit, get not_found)", n)
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
