package session_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
)

// countingStore is a store.UserCounter over another store, which counts
// the session layer's ListUser calls. Its counts are exact.
type countingStore struct {
	store.Store
	lists atomic.Int64
}

func (c *countingStore) ListUser(ctx context.Context, userID string) ([]*store.Record, error) {
	c.lists.Add(1)
	return c.Store.ListUser(ctx, userID)
}

func (c *countingStore) lineages(ctx context.Context, userID string) (int, error) {
	if userID == "" {
		return 0, nil
	}
	recs, err := c.Store.ListUser(ctx, userID)
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.LineageKey()] = true
	}
	return len(seen), err
}

func (c *countingStore) CreateCounting(ctx context.Context, rec *store.Record) (int, error) {
	if err := c.Store.Create(ctx, rec); err != nil {
		return 0, err
	}
	return c.lineages(ctx, rec.UserID)
}

func (c *countingStore) RotateCounting(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time) (int, error) {
	if err := c.Store.Rotate(ctx, oldKey, oldVersion, next, graceUntil); err != nil {
		return 0, err
	}
	return c.lineages(ctx, next.UserID)
}

// TestSessionLimitCounted: with a store that counts a user's sessions in
// the sign-in's own write, the session layer lists them only when the
// count is over MaxSessionsPerUser, and bounds them as before.
func TestSessionLimitCounted(t *testing.T) {
	clk := newClock()
	st := &countingStore{Store: newMem(t)}
	e := newEnv(t, st, session.Config{Now: clk.Now, MaxSessionsPerUser: 3})
	var toks []string
	for range 5 {
		clk.advance(time.Second)
		toks = append(toks, e.token(e.do(loginHandler("alice"), e.req("POST", "/login"))))
	}
	// Sign-ins 4 and 5 found alice over the bound; 1 to 3 did not list.
	if n := st.lists.Load(); n != 2 {
		t.Errorf("%d listings for 5 sign-ins, want 2", n)
	}
	for i, tok := range toks {
		want := "alice"
		if i < 2 {
			want = ""
		}
		if u := e.user(tok); u != want {
			t.Errorf("session %d: user %q, want %q", i, u, want)
		}
	}
	if n := e.ev.count(session.EventLimit); n != 2 {
		t.Errorf("%d limit events, want 2", n)
	}

	// A sign-in from an anonymous session (a rotation) within the bound
	// lists nothing either.
	before := st.lists.Load()
	anon := e.token(e.do(func(w http.ResponseWriter, r *http.Request) { session.From(r).Put("cart", "1") }, e.req("GET", "/")))
	in := e.token(e.do(loginHandler("bob"), e.req("POST", "/login", anon)))
	if e.user(in) != "bob" || e.user(anon) != "" {
		t.Fatalf("sign-in from an anonymous session: new %q, old %q", e.user(in), e.user(anon))
	}
	if n := st.lists.Load() - before; n != 0 {
		t.Errorf("a sign-in within the bound listed %d times, want 0", n)
	}
}
