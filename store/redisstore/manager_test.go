package redisstore_test

import (
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/redisstore"
)

// instance is one application server: its own client, store and manager,
// as a second process behind a load balancer would have.
type instance struct {
	m  *session.Manager
	h  http.Handler
	ev *events
}

func newInstance(t *testing.T, srv *redistest.Server) *instance {
	t.Helper()
	ev := &events{}
	m := newManager(t, redisstore.New(newClient(t, srv), redisstore.Options{}), ev)
	return &instance{m: m, h: app(m), ev: ev}
}

// TestTwoInstancesShareSessions runs two managers on one Redis, as two
// application servers would: a sign-in, sign-out or revocation on one is
// in force on the other at once (I3, I6).
func TestTwoInstancesShareSessions(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newInstance(t, srv), newInstance(t, srv)
	ctx := t.Context()

	// An anonymous session on A, then a sign-in on A.
	user := &browser{}
	user.post(a.h, "/note", form("v", "cart")).want(t, "anonymous write on A", 200, "ok")
	planted := user.cookie
	user.post(a.h, "/login", form("user", "alice")).want(t, "sign-in on A", 200, "ok")
	if user.cookie == planted || user.cookie == "" {
		t.Fatal("sign-in on A did not issue a new token")
	}
	// The pre-login token, which an attacker may have planted, is dead on
	// B too (session fixation, I3).
	attacker := &browser{cookie: planted}
	attacker.get(b.h, "/whoami").want(t, "old token on B", 200, "user= note=")
	if b.ev.count(session.EventDeadToken) != 1 {
		t.Errorf("B raised %d dead-token events for the old token, want 1", b.ev.count(session.EventDeadToken))
	}
	user.get(b.h, "/whoami").want(t, "new token on B", 200, "user=alice note=cart")

	// Sign-out on B ends the session on A (I6).
	signedIn := user.cookie
	user.post(b.h, "/logout", nil).want(t, "sign-out on B", 200, "ok")
	if user.cookie != "" {
		t.Error("sign-out did not expire the cookie")
	}
	replay := &browser{cookie: signedIn}
	replay.get(a.h, "/whoami").want(t, "signed-out token on A", 200, "user= note=")
	if a.ev.count(session.EventDeadToken) != 1 {
		t.Errorf("A raised %d dead-token events for the signed-out token, want 1", a.ev.count(session.EventDeadToken))
	}

	// Another user signs in on a browser where alice is signed in: alice's
	// session dies with the rotation, and leaves her list (I3).
	shared := &browser{}
	shared.post(a.h, "/login", form("user", "alice")).want(t, "alice on the shared browser", 200, "ok")
	aliceToken := shared.cookie
	shared.post(b.h, "/login", form("user", "mallory")).want(t, "mallory on the shared browser", 200, "ok")
	shared.get(a.h, "/whoami").want(t, "shared browser on A", 200, "user=mallory note=")
	(&browser{cookie: aliceToken}).get(a.h, "/whoami").want(t, "alice's replaced token on A", 200, "user= note=")
	if infos, err := a.m.UserSessions(ctx, "alice"); err != nil || len(infos) != 0 {
		t.Errorf("after the user switch, alice has %d sessions (%v), want 0", len(infos), err)
	}

	// Two devices of alice, one signed in through each instance; each
	// instance lists both; RevokeAll on A signs both out on B.
	laptop, phone := &browser{}, &browser{}
	laptop.post(a.h, "/login", form("user", "alice")).want(t, "laptop sign-in on A", 200, "ok")
	phone.post(b.h, "/login", form("user", "alice")).want(t, "phone sign-in on B", 200, "ok")
	for _, in := range []*instance{a, b} {
		infos, err := in.m.UserSessions(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if len(infos) != 2 {
			t.Errorf("UserSessions lists %d sessions, want 2", len(infos))
		}
	}
	n, err := a.m.RevokeAll(ctx, "alice", session.EndSignedOutElsewhere)
	if err != nil || n != 2 {
		t.Fatalf("RevokeAll on A = %d, %v; want 2, nil", n, err)
	}
	laptop.get(b.h, "/whoami").want(t, "revoked laptop on B", 200, "user= note=")
	phone.get(b.h, "/whoami").want(t, "revoked phone on B", 200, "user= note=")
	if infos, err := b.m.UserSessions(ctx, "alice"); err != nil || len(infos) != 0 {
		t.Errorf("after RevokeAll, B lists %d sessions (%v), want 0", len(infos), err)
	}
}

// TestRedisDownFailsClosed kills Redis in the middle of traffic (I9): every
// request that needs the store gets the error handler's 503 and raises an
// EventStoreError; no signed-in request is ever served as anonymous; nothing
// panics or leaks goroutines. Restarted on the same port, Redis serves the
// same manager again, with no rebuild.
func TestRedisDownFailsClosed(t *testing.T) {
	srv := redistest.Start(t)
	in := newInstance(t, srv)
	alice := &browser{}
	alice.post(in.h, "/login", form("user", "alice")).want(t, "sign-in", 200, "ok")
	alice.get(in.h, "/whoami").want(t, "signed in", 200, "user=alice note=")

	runtime.GC()
	baseline := runtime.NumGoroutine()

	// Traffic: signed-in reads and anonymous writes, while Redis dies.
	var (
		wg       sync.WaitGroup
		stop     atomic.Bool
		failures atomic.Int32
		mu       sync.Mutex
		bad      []string
	)
	for w := range 4 {
		wg.Go(func() {
			for !stop.Load() {
				var r response
				if w%2 == 0 {
					r = (&browser{cookie: alice.cookie}).get(in.h, "/whoami")
					if r.code == 200 && r.body != "user=alice note=" {
						mu.Lock()
						bad = append(bad, "signed-in read answered "+r.body)
						mu.Unlock()
					}
				} else {
					r = (&browser{}).post(in.h, "/note", form("v", "x"))
				}
				switch r.code {
				case 200:
				case http.StatusServiceUnavailable:
					failures.Add(1)
				default:
					mu.Lock()
					bad = append(bad, r.body)
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	srv.Kill()
	if !eventually(5*time.Second, func() bool { return failures.Load() >= 20 }) {
		t.Errorf("only %d requests failed after Redis was killed", failures.Load())
	}
	stop.Store(true)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("while Redis died: %d wrong answers, first %q", len(bad), bad[0])
	}

	// Each kind of request, one by one, with Redis down.
	before := in.ev.count(session.EventStoreError)
	for _, c := range []struct {
		name string
		do   func() response
	}{
		{"signed-in read", func() response { return (&browser{cookie: alice.cookie}).get(in.h, "/whoami") }},
		{"signed-in write", func() response { return (&browser{cookie: alice.cookie}).post(in.h, "/note", form("v", "y")) }},
		{"anonymous write", func() response { return (&browser{}).post(in.h, "/note", form("v", "y")) }},
		{"sign-in", func() response { return (&browser{}).post(in.h, "/login", form("user", "bob")) }},
		{"sign-out", func() response { return (&browser{cookie: alice.cookie}).post(in.h, "/logout", nil) }},
	} {
		r := c.do()
		if r.code != http.StatusServiceUnavailable {
			t.Errorf("%s with Redis down: %d %q, want 503", c.name, r.code, r.body)
		}
		if r.hdr.Get("Set-Cookie") != "" {
			t.Errorf("%s with Redis down set a cookie: %s", c.name, r.hdr.Get("Set-Cookie"))
		}
	}
	if got := in.ev.count(session.EventStoreError) - before; got != 5 {
		t.Errorf("%d store-error events for 5 failed requests", got)
	}
	if ev, ok := in.ev.last(session.EventStoreError); !ok || !errors.Is(ev.Err, session.ErrStore) {
		t.Errorf("store-error event %+v does not wrap session.ErrStore", ev)
	}
	// A request that needs no store (no cookie, no write) is still served.
	(&browser{}).get(in.h, "/whoami").want(t, "anonymous read with Redis down", 200, "user= note=")

	// No goroutine outlives the failures (go-redis may keep one redialling
	// while the server is away).
	if !eventually(3*time.Second, func() bool { return runtime.NumGoroutine() <= baseline+2 }) {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d, was %d before Redis died\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
	}

	// Back on the same port: the same manager serves again. The data is
	// gone (no persistence here), so alice's token is unknown, and
	// answered as anonymous, not with an error.
	srv.Restart()
	bob := &browser{}
	if !eventually(5*time.Second, func() bool {
		return bob.post(in.h, "/login", form("user", "bob")).code == 200
	}) {
		t.Fatal("service did not resume after Redis came back")
	}
	for range 10 {
		bob.get(in.h, "/whoami").want(t, "after restart", 200, "user=bob note=")
	}
	alice.get(in.h, "/whoami").want(t, "lost session after restart", 200, "user= note=")
	if !eventually(3*time.Second, func() bool { return runtime.NumGoroutine() <= baseline+2 }) {
		t.Errorf("goroutines after recovery: %d, was %d", runtime.NumGoroutine(), baseline)
	}
}

// TestSessionsSurviveRestart runs Redis with an fsync'ed append-only file:
// committed sessions, and the tombstones of signed-out ones, survive a
// restart, clean (SIGTERM) or not (SIGKILL).
func TestSessionsSurviveRestart(t *testing.T) {
	for _, c := range []struct {
		name string
		stop func(*redistest.Server)
	}{
		{"Shutdown", (*redistest.Server).Stop},
		{"Crash", (*redistest.Server).Kill},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
			in := newInstance(t, srv)
			alice, bob := &browser{}, &browser{}
			alice.post(in.h, "/login", form("user", "alice")).want(t, "alice signs in", 200, "ok")
			alice.post(in.h, "/note", form("v", "kept")).want(t, "alice writes", 200, "ok")
			bob.post(in.h, "/login", form("user", "bob")).want(t, "bob signs in", 200, "ok")
			bobOld := bob.cookie
			bob.post(in.h, "/logout", nil).want(t, "bob signs out", 200, "ok")

			c.stop(srv)
			srv.Restart()

			var r response
			if !eventually(5*time.Second, func() bool {
				r = alice.get(in.h, "/whoami")
				return r.code != http.StatusServiceUnavailable
			}) {
				t.Fatalf("service did not resume: %d %q", r.code, r.body)
			}
			r.want(t, "alice after the restart", 200, "user=alice note=kept")
			dead := in.ev.count(session.EventDeadToken)
			(&browser{cookie: bobOld}).get(in.h, "/whoami").want(t, "bob's signed-out token", 200, "user= note=")
			if in.ev.count(session.EventDeadToken) != dead+1 {
				t.Error("bob's tombstone did not survive the restart")
			}
			if !strings.Contains(srv.Log(), "Ready to accept connections") {
				t.Error("redis log does not show a restart")
			}
		})
	}
}

// TestCorruptRecordFailsClosed garbles a stored record: the request gets a
// 503 and an event, never an empty session that would overwrite it (I9).
func TestCorruptRecordFailsClosed(t *testing.T) {
	srv := redistest.Start(t)
	look := inspector(t, srv)
	in := newInstance(t, srv)
	alice := &browser{}
	alice.post(in.h, "/login", form("user", "alice")).want(t, "sign-in", 200, "ok")
	sessions, err := in.m.UserSessions(t.Context(), "alice")
	if err != nil || len(sessions) != 1 {
		t.Fatalf("UserSessions: %v, %v", sessions, err)
	}
	keys, err := look.Keys(t.Context(), "sg:s:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("record keys: %v, %v", keys, err)
	}
	if err := look.HSet(t.Context(), keys[0], "d", "\x53garbage").Err(); err != nil {
		t.Fatal(err)
	}
	r := alice.post(in.h, "/note", form("v", "x"))
	if r.code != http.StatusServiceUnavailable {
		t.Fatalf("request on a corrupt record: %d %q, want 503", r.code, r.body)
	}
	ev, ok := in.ev.last(session.EventStoreError)
	if !ok || !errors.Is(ev.Err, store.ErrCorrupt) {
		t.Errorf("store-error event %+v does not wrap store.ErrCorrupt", ev)
	}
	if d, _ := look.HGet(t.Context(), keys[0], "d").Result(); d != "\x53garbage" {
		t.Error("the corrupt record was overwritten")
	}
}
