package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/redisstore"
)

// Client timeouts for tests: short, so that the failure tests fail fast.
const (
	dialTimeout = 300 * time.Millisecond
	ioTimeout   = 500 * time.Millisecond
)

// TestMain silences go-redis's logger, which reports every failed dial:
// the failure tests provoke hundreds on purpose.
func TestMain(m *testing.M) {
	redis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// newClient returns a client of srv with short timeouts and a hook that
// fails t if the store ever scans the keyspace.
func newClient(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	return newClientWaiting(t, srv, ioTimeout)
}

// newClientWaiting is newClient whose calls wait up to poolTimeout for a
// connection: the conformance suite runs hundreds of calls at once, more
// than the pool holds, which on a busy machine wait longer than ioTimeout
// for their turn without anything being wrong.
func newClientWaiting(t *testing.T, srv *redistest.Server, poolTimeout time.Duration) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:         srv.Addr,
		DialTimeout:  dialTimeout,
		ReadTimeout:  ioTimeout,
		WriteTimeout: ioTimeout,
		PoolTimeout:  poolTimeout,
		MaxRetries:   1,
		// One dial per attempt: go-redis would otherwise redial five
		// times, 100ms apart, before a request may fail.
		DialerRetries: 1,
		PoolSize:      64,
	})
	c.AddHook(&noScan{t: t})
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("closing the client: %v", err)
		}
	})
	return c
}

// newClusterClient returns a client of c with short timeouts.
func newClusterClient(t *testing.T, c *redistest.Cluster) *redis.ClusterClient {
	t.Helper()
	return newClusterClientWaiting(t, c, ioTimeout)
}

// newClusterClientWaiting is newClusterClient whose replies and pooled
// connections are waited for up to wait: three primaries under -race on
// a busy machine answer the conformance suite's hundreds of concurrent
// calls more slowly than ioTimeout, and a call retried after a timed-out
// reply runs its script twice (a sign-in then finds its own key taken).
func newClusterClientWaiting(t *testing.T, c *redistest.Cluster, wait time.Duration) *redis.ClusterClient {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:         c.Addrs,
		DialTimeout:   dialTimeout,
		ReadTimeout:   wait,
		WriteTimeout:  wait,
		PoolTimeout:   wait,
		MaxRetries:    1,
		DialerRetries: 1,
		PoolSize:      64,
	})
	cc.AddHook(&noScan{t: t})
	t.Cleanup(func() {
		if err := cc.Close(); err != nil {
			t.Errorf("closing the cluster client: %v", err)
		}
	})
	return cc
}

// flush empties every primary behind client.
func flush(t *testing.T, client redis.UniversalClient) {
	t.Helper()
	var err error
	switch c := client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(t.Context(), func(ctx context.Context, n *redis.Client) error {
			return n.FlushAll(ctx).Err()
		})
	default:
		err = client.FlushAll(t.Context()).Err()
	}
	if err != nil {
		t.Fatalf("FLUSHALL: %v", err)
	}
}

// noScan fails the test on any command that walks the keyspace: per-user
// listing and revocation must go through the user's index.
type noScan struct{ t *testing.T }

func (h *noScan) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *noScan) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.check(cmd)
		return next(ctx, cmd)
	}
}

func (h *noScan) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			h.check(cmd)
		}
		return next(ctx, cmds)
	}
}

func (h *noScan) check(cmd redis.Cmder) {
	switch strings.ToLower(cmd.Name()) {
	case "keys", "scan":
		h.t.Errorf("the store sent %s: listing must never scan the keyspace", strings.ToUpper(cmd.Name()))
	}
}

// roundTrips counts the exchanges with Redis: each command sent alone and
// each pipeline is one (a ClusterClient sends a pipeline's commands to
// their nodes in parallel). The handshake of a new pooled connection
// (HELLO, CLIENT SETINFO) is counted apart: it is paid once per
// connection, not per operation.
type roundTrips struct {
	mu        sync.Mutex
	n         int
	handshake int
	cmds      []string
}

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.add(cmd)
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.add(cmds...)
		return next(ctx, cmds)
	}
}

func (h *roundTrips) add(cmds ...redis.Cmder) {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.Name()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch names[0] {
	case "hello", "client", "auth", "select", "readonly":
		h.handshake++
		return
	}
	h.n++
	h.cmds = append(h.cmds, strings.Join(names, "+"))
}

// measure returns the round trips f makes, and the commands of each.
func (h *roundTrips) measure(f func()) (int, []string) {
	h.mu.Lock()
	h.n, h.cmds = 0, nil
	h.mu.Unlock()
	f()
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n, h.cmds
}

// events records a manager's events.
type events struct {
	mu   sync.Mutex
	list []session.Event
}

func (e *events) on(ev session.Event) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	e.mu.Unlock()
}

// count returns how many events of kind were seen.
func (e *events) count(kind session.EventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.list {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// last returns the last event of kind, and whether there was one.
func (e *events) last(kind session.EventKind) (session.Event, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.list) - 1; i >= 0; i-- {
		if e.list[i].Kind == kind {
			return e.list[i], true
		}
	}
	return session.Event{}, false
}

// newManager returns a manager on store whose events go to ev.
func newManager(t *testing.T, st store.Store, ev *events) *session.Manager {
	t.Helper()
	m, err := session.New(st, session.Config{OnEvent: ev.on})
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	return m
}

// app is the application of the end-to-end tests.
func app(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		fmt.Fprintf(w, "user=%s note=%s", s.UserID(), s.GetString("note"))
	})
	mux.HandleFunc("POST /note", func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Put("note", r.FormValue("v")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Login(r.FormValue("user"), session.Carry("note")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Logout(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	})
	return m.Handler(mux)
}

// A browser keeps the session cookie between requests. The cookie is
// Secure (and __Host-), so it is copied into the Cookie header by hand
// rather than through a jar on plain HTTP.
type browser struct {
	cookie string // "name=value", or "" for none
}

// response is what a request got.
type response struct {
	code int
	body string
	hdr  http.Header
}

func (b *browser) get(h http.Handler, path string) response {
	return b.do(h, http.MethodGet, path, nil)
}

func (b *browser) post(h http.Handler, path string, form url.Values) response {
	return b.do(h, http.MethodPost, path, form)
}

func (b *browser) do(h http.Handler, method, path string, form url.Values) response {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, "https://app.example"+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.cookie != "" {
		req.Header.Set("Cookie", b.cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	for _, c := range res.Cookies() {
		if c.Name != session.DefaultCookieName {
			continue
		}
		if c.MaxAge < 0 || c.Value == "" {
			b.cookie = ""
		} else {
			b.cookie = c.Name + "=" + c.Value
		}
	}
	return response{code: res.StatusCode, body: rec.Body.String(), hdr: res.Header}
}

// want fails t unless r has the status code and body.
func (r response) want(t *testing.T, what string, code int, body string) {
	t.Helper()
	if r.code != code || (body != "" && r.body != body) {
		t.Fatalf("%s: got %d %q, want %d %q", what, r.code, r.body, code, body)
	}
}

// eventually polls f every 20ms until it returns true or d passes.
func eventually(d time.Duration, f func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// form builds url.Values from key, value pairs.
func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// newRecord returns a record as the Manager would write it, for userID
// ("" for anonymous), living an hour.
func newRecord(t *testing.T, userID string) *store.Record {
	t.Helper()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rec := &store.Record{
		Key: hex.EncodeToString(b[:]), UserID: userID,
		Created: now, LastSeen: now, IdleTimeout: time.Hour, Deadline: now.Add(12 * time.Hour),
		Data: []byte("values"),
	}
	rec.Expires = now.Add(time.Hour)
	if userID != "" {
		rec.AuthTime = now
	}
	return rec
}

var _ = redisstore.DefaultPrefix

// inspected starts a server and returns a store on it (New, default
// options) and a client for looking at what the store wrote.
func inspected(t *testing.T) (*redisstore.Store, *redis.Client) {
	t.Helper()
	srv := redistest.Start(t)
	return redisstore.New(newClient(t, srv), redisstore.Options{}), inspector(t, srv)
}
