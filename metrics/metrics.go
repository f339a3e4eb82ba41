// Package metrics exposes sessionguard's security events and store latency
// as Prometheus metrics. It lives apart from package session so that the
// core library keeps to the standard library.
//
//	m := metrics.New(prometheus.DefaultRegisterer)
//	logEvent := session.LogEvents(logger)
//	sessions, err := session.New(m.InstrumentStore(st), session.Config{
//		OnEvent: func(e session.Event) { logEvent(e); m.Observe(e) },
//	})
//
// Metrics (all prefixed sessionguard_):
//
//   - events_total{kind}: every session event, by kind ("login",
//     "unknown-token", "store-error", …), which covers sessions created,
//     renewed, destroyed, revoked, unknown tokens, merges and failures;
//
//   - store_seconds{op,result}: a histogram of store call latency by
//     operation (get, create, update, rotate, sign_in, delete, list_user,
//     revoke_user, revoke_lineage, count) and result (ok, not_found,
//     gone, conflict, exists, revoked_since, error).
//
//   - active_sessions: live sessions, for stores that can count them
//     cheaply (see [Metrics.InstrumentStore]).
//
// Labels never hold a token, a user ID or an address, so cardinality is
// bounded by the number of event kinds and store operations.
package metrics

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
)

// Metrics collects the metrics. It is safe for concurrent use.
type Metrics struct {
	events *prometheus.CounterVec
	store  *prometheus.HistogramVec
	reg    prometheus.Registerer
}

// New registers the metrics with reg and returns them. It panics if they
// are already registered there, as prometheus.MustRegister does.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sessionguard", Name: "events_total",
			Help: "Session lifecycle and security events, by kind.",
		}, []string{"kind"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sessionguard", Name: "store_seconds",
			Help:    "Latency of session store calls, by operation and result.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"op", "result"}),
	}
	reg.MustRegister(m.events, m.store)
	m.reg = reg
	return m
}

// Observe counts e. Use it as, or call it from, session.Config.OnEvent;
// to log as well, call [session.LogEvents]'s function from the same
// function.
func (m *Metrics) Observe(e session.Event) {
	m.events.WithLabelValues(e.Kind.String()).Inc()
}

// InstrumentStore returns a store that times every call of st, the sign-in
// write ([store.Store.SignIn]) included: it makes the same calls to st, in
// the same order, as the session layer would without it (its tests check
// this). When st can count its sessions ([store.Counter]: the memory,
// bolt, PostgreSQL and SQLite stores), the returned store is a Counter
// too, and InstrumentStore registers the gauge
// sessionguard_active_sessions, read from st when the metrics are
// scraped; it panics if that gauge is registered already. Redis does not
// count: it would have to scan every key.
func (m *Metrics) InstrumentStore(st store.Store) store.Store {
	t := &timedStore{st: st, m: m}
	c, ok := st.(store.Counter)
	if !ok {
		return t
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "sessionguard", Name: "active_sessions",
		Help: "Live session records in the store, read when scraped.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := c.Count(ctx)
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	}))
	return &countingStore{t, c}
}

// countingStore is a timed store whose inner store counts.
type countingStore struct {
	*timedStore
	c store.Counter
}

func (s *countingStore) Count(ctx context.Context) (int, error) {
	start := time.Now()
	n, err := s.c.Count(ctx)
	s.observe("count", start, err)
	return n, err
}

type timedStore struct {
	st store.Store
	m  *Metrics
}

func (t *timedStore) observe(op string, start time.Time, err error) {
	t.m.store.WithLabelValues(op, result(err)).Observe(time.Since(start).Seconds())
}

func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, store.ErrNotFound):
		return "not_found"
	case errors.Is(err, store.ErrGone):
		return "gone"
	case errors.Is(err, store.ErrConflict):
		return "conflict"
	case errors.Is(err, store.ErrExists):
		return "exists"
	case errors.Is(err, store.ErrRevokedSince):
		return "revoked_since"
	}
	return "error"
}

func (t *timedStore) Get(ctx context.Context, key string) (*store.Record, error) {
	start := time.Now()
	rec, err := t.st.Get(ctx, key)
	t.observe("get", start, err)
	return rec, err
}

func (t *timedStore) Create(ctx context.Context, rec *store.Record) error {
	start := time.Now()
	err := t.st.Create(ctx, rec)
	t.observe("create", start, err)
	return err
}

func (t *timedStore) Update(ctx context.Context, rec *store.Record) error {
	start := time.Now()
	err := t.st.Update(ctx, rec)
	t.observe("update", start, err)
	return err
}

func (t *timedStore) Rotate(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time) error {
	start := time.Now()
	err := t.st.Rotate(ctx, oldKey, oldVersion, next, graceUntil)
	t.observe("rotate", start, err)
	return err
}

func (t *timedStore) Delete(ctx context.Context, key string, reason store.Reason) error {
	start := time.Now()
	err := t.st.Delete(ctx, key, reason)
	t.observe("delete", start, err)
	return err
}

func (t *timedStore) ListUser(ctx context.Context, userID string) ([]*store.Record, error) {
	start := time.Now()
	recs, err := t.st.ListUser(ctx, userID)
	t.observe("list_user", start, err)
	return recs, err
}

func (t *timedStore) RevokeUser(ctx context.Context, userID, keepLineage string, reason store.Reason) (store.Revocation, error) {
	start := time.Now()
	rev, err := t.st.RevokeUser(ctx, userID, keepLineage, reason)
	t.observe("revoke_user", start, err)
	return rev, err
}

func (t *timedStore) RevokeLineage(ctx context.Context, userID, lineage string, reason store.Reason) (int, error) {
	start := time.Now()
	n, err := t.st.RevokeLineage(ctx, userID, lineage, reason)
	t.observe("revoke_lineage", start, err)
	return n, err
}

func (t *timedStore) SignIn(ctx context.Context, in *store.SignIn) (store.SignedIn, error) {
	start := time.Now()
	out, err := t.st.SignIn(ctx, in)
	t.observe("sign_in", start, err)
	return out, err
}
