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

// callCountingStore counts the calls the session layer makes to a store.
type callCountingStore struct {
	store.Store
	lists, signIns, writes atomic.Int64
}

func (c *callCountingStore) ListUser(ctx context.Context, userID string) ([]*store.Record, error) {
	c.lists.Add(1)
	return c.Store.ListUser(ctx, userID)
}

func (c *callCountingStore) SignIn(ctx context.Context, in *store.SignIn) (store.SignedIn, error) {
	c.signIns.Add(1)
	return c.Store.SignIn(ctx, in)
}

func (c *callCountingStore) Create(ctx context.Context, rec *store.Record) error {
	c.writes.Add(1)
	return c.Store.Create(ctx, rec)
}

func (c *callCountingStore) Rotate(ctx context.Context, oldKey string, oldVersion uint64, next *store.Record, graceUntil time.Time) error {
	c.writes.Add(1)
	return c.Store.Rotate(ctx, oldKey, oldVersion, next, graceUntil)
}

// TestSessionLimitInTheSignInWrite: a sign-in, within the bound or past
// it, from no session or from an anonymous one, is one store call, the
// sign-in write, which keeps the bound itself: the session layer never
// lists the user's sessions to keep it.
func TestSessionLimitInTheSignInWrite(t *testing.T) {
	clk := newClock()
	st := &callCountingStore{Store: newMemAt(t, clk)}
	e := newEnv(t, st, session.Config{Now: clk.Now, MaxSessionsPerUser: 3})
	var toks []string
	for range 5 {
		clk.advance(2 * time.Second)
		toks = append(toks, e.token(e.do(loginHandler("alice"), e.req("POST", "/login"))))
	}
	anon := e.token(e.do(func(w http.ResponseWriter, r *http.Request) { session.From(r).Put("cart", "1") }, e.req("GET", "/")))
	writes := st.writes.Load()
	clk.advance(2 * time.Second)
	in := e.token(e.do(loginHandler("alice"), e.req("POST", "/login", anon)))
	if e.user(in) != "alice" || e.user(anon) != "" {
		t.Fatalf("sign-in from an anonymous session: new %q, old %q", e.user(in), e.user(anon))
	}
	if n := st.signIns.Load(); n != 6 {
		t.Errorf("%d sign-in writes for 6 sign-ins, want 6", n)
	}
	if n := st.writes.Load() - writes; n != 0 {
		t.Errorf("a sign-in from an anonymous session made %d other writes, want 0", n)
	}
	if n := st.lists.Load(); n != 0 {
		t.Errorf("%d listings for 6 sign-ins, want 0", n)
	}
	for i, tok := range toks {
		want := "alice"
		if i < 3 {
			want = ""
		}
		if u := e.user(tok); u != want {
			t.Errorf("session %d: user %q, want %q", i, u, want)
		}
	}
	if n := e.ev.count(session.EventLimit); n != 3 {
		t.Errorf("%d limit events, want 3", n)
	}
}
