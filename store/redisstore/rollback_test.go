package redisstore_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
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

// Persistence configurations of the rollback tests. Snapshots are taken
// by the test (SAVE), never by the server on its own within a test; a
// clean shutdown saves, since save points are configured.
var (
	snapshotOnly = []string{"--save", "3600 1", "--appendonly", "no"}
	aofAlways    = []string{"--save", "", "--appendonly", "yes", "--appendfsync", "always"}
)

// openWatched opens a store on client whose rollback watch checks only
// when the test says (CheckRollback), and whose log goes to logs.
func openWatched(t *testing.T, client redis.UniversalClient, opts redisstore.Options, logs *bytes.Buffer) *redisstore.Store {
	t.Helper()
	opts.RollbackCheckInterval = time.Hour
	if logs != nil {
		opts.Logger = slog.New(slog.NewTextHandler(&syncWriter{b: logs}, nil))
	}
	st, err := redisstore.Open(t.Context(), client, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// TestI14Rollback: a Redis that comes back with less than it acknowledged
// never brings back a session that was signed out. alice signs out after
// the last snapshot; her stolen cookie must stay dead after the restart,
// whether the instance that sees the restart watched the old server (a
// witness) or started after it (fresh). What the fix costs shows in bob:
// after a crash of a snapshot-only Redis, every session is ended; after a
// clean shutdown watched by a running instance, or with appendfsync
// always, nobody is signed out.
func TestI14Rollback(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		crash     bool // kill -9, else SHUTDOWN (SIGTERM), which saves
		fresh     bool // the request after the restart goes to a store opened after it
		bobStays  bool
		wantError bool // the log reports a rollback
	}{
		{"snapshot only, crash, witness", snapshotOnly, true, false, false, true},
		{"snapshot only, crash, fresh instance", snapshotOnly, true, true, false, true},
		{"snapshot only, clean shutdown, witness", snapshotOnly, false, false, true, false},
		// Nobody watched the old server: a clean restart cannot be told
		// from a crash, and fails closed (the documented cost).
		{"snapshot only, clean shutdown, fresh instance", snapshotOnly, false, true, false, true},
		{"AOF always, crash, witness", aofAlways, true, false, true, false},
		{"AOF always, crash, fresh instance", aofAlways, true, true, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t, tc.args...)
			client := newClient(t, srv)
			var logs bytes.Buffer
			st := openWatched(t, client, redisstore.Options{}, &logs)
			var ev events
			h := app(newManager(t, st, &ev))
			alice, bob := &browser{}, &browser{}
			alice.post(h, "/login", form("user", "alice")).want(t, "alice signs in", http.StatusOK, "ok")
			bob.post(h, "/login", form("user", "bob")).want(t, "bob signs in", http.StatusOK, "ok")
			stolen := alice.cookie
			if err := client.Save(t.Context()).Err(); err != nil {
				t.Fatalf("SAVE: %v", err)
			}
			alice.post(h, "/logout", nil).want(t, "alice signs out after the snapshot", http.StatusOK, "ok")

			if tc.crash {
				srv.Kill()
			} else {
				srv.Stop()
			}
			srv.Restart()
			if tc.fresh {
				h = app(newManager(t, openWatched(t, newClient(t, srv), redisstore.Options{}, &logs), &ev))
			} else if err := st.CheckRollback(t.Context()); err != nil {
				t.Fatalf("check after the restart: %v", err)
			}

			thief := &browser{cookie: stolen}
			thief.get(h, "/whoami").want(t, "alice's signed-out cookie after the restart", http.StatusOK, "user= note=")
			want := "user= note="
			if tc.bobStays {
				want = "user=bob note="
			}
			bob.get(h, "/whoami").want(t, "bob after the restart", http.StatusOK, want)
			if got := strings.Contains(logs.String(), "went back in time"); got != tc.wantError {
				t.Errorf("log reports a rollback: %v, want %v; log:\n%s", got, tc.wantError, logs.String())
			}
			if !tc.bobStays {
				e, ok := ev.last(session.EventDeadToken)
				if !ok {
					t.Fatal("no dead-token event for bob's session ended by the rollback")
				}
				if e.Session == "" {
					t.Errorf("dead-token event without the session's fingerprint: %+v", e)
				}
			}
		})
	}
}

// TestI14RollbackSeenByOtherInstances: the floor one instance raises is
// kept in Redis, so that another instance, running or started later,
// ends the same sessions; and a rotation made through an instance that
// has not checked yet cannot lift a rolled-back session above the floor:
// the new record keeps its lineage's age.
func TestI14RollbackSeenByOtherInstances(t *testing.T) {
	srv := redistest.Start(t, snapshotOnly...)
	ctx := t.Context()
	witness := openWatched(t, newClient(t, srv), redisstore.Options{}, nil)
	stale := openWatched(t, newClient(t, srv), redisstore.Options{}, nil)
	alice, bob := newRecord(t, "alice"), newRecord(t, "bob")
	for _, r := range []*store.Record{alice, bob} {
		if err := witness.Create(ctx, r); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	if err := witness.CheckRollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := newClient(t, srv).Save(ctx).Err(); err != nil {
		t.Fatalf("SAVE: %v", err)
	}
	if err := witness.Delete(ctx, alice.Key, store.Reason(3)); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	srv.Kill()
	srv.Restart()

	// The stale instance has not checked since the restart: it still
	// serves alice, and rotates her session for the thief.
	if _, err := stale.Get(ctx, alice.Key); err != nil {
		t.Fatalf("stale Get before any check: %v (the test expects the stale instance not to know yet)", err)
	}
	next := newRecord(t, "alice")
	if err := stale.Rotate(ctx, alice.Key, alice.Version, next, time.Time{}); err != nil {
		t.Fatalf("stale Rotate: %v", err)
	}
	if err := witness.CheckRollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := stale.CheckRollback(ctx); err != nil {
		t.Fatal(err)
	}
	later := openWatched(t, newClient(t, srv), redisstore.Options{}, nil)
	fresh := newRecord(t, "carol")
	if err := later.Create(ctx, fresh); err != nil {
		t.Fatalf("Create after the rollback: %v", err)
	}
	for name, st := range map[string]*redisstore.Store{"witness": witness, "stale": stale, "later": later} {
		if st.RollbackFloor() == 0 {
			t.Errorf("%s: no floor", name)
		}
		if _, err := st.Get(ctx, alice.Key); !errors.Is(err, store.ErrGone) {
			t.Errorf("%s: Get(alice) = %v, want ErrGone (renewed away)", name, err)
		}
		for who, key := range map[string]string{"alice rotated": next.Key, "bob": bob.Key} {
			_, err := st.Get(ctx, key)
			if r, ok := store.ReasonOf(err); !ok || r != store.ReasonRolledBack {
				t.Errorf("%s: Get(%s) = %v, want ReasonRolledBack", name, who, err)
			}
		}
		if _, err := st.Get(ctx, fresh.Key); err != nil {
			t.Errorf("%s: Get of a session created after the rollback: %v", name, err)
		}
		for _, u := range []string{"alice", "bob"} {
			if recs, err := st.ListUser(ctx, u); err != nil || len(recs) != 0 {
				t.Errorf("%s: ListUser(%s) = %d records, %v; want none", name, u, len(recs), err)
			}
		}
		if recs, err := st.ListUser(ctx, "carol"); err != nil || len(recs) != 1 {
			t.Errorf("%s: ListUser(carol) = %d records, %v; want 1", name, len(recs), err)
		}
	}
}

// TestI14RollbackWithoutRestart: the data going back under the same
// server (here FLUSHALL, as a restore into a running server would) is
// seen by a witness through the write sequence alone.
func TestI14RollbackWithoutRestart(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	ctx := t.Context()
	st := openWatched(t, client, redisstore.Options{}, nil)
	rec := newRecord(t, "alice")
	if err := st.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, rec.Key, store.Reason(3)); err != nil {
		t.Fatal(err)
	}
	if err := st.CheckRollback(ctx); err != nil {
		t.Fatal(err)
	}
	if st.RollbackFloor() != 0 {
		t.Fatal("a floor before anything was lost")
	}
	flush(t, client)
	if err := st.CheckRollback(ctx); err != nil {
		t.Fatal(err)
	}
	if st.RollbackFloor() == 0 {
		t.Fatal("no floor after the data lost an acknowledged write")
	}
	// Once raised, the floor is not raised again at every check.
	f := st.RollbackFloor()
	time.Sleep(5 * time.Millisecond)
	if err := st.CheckRollback(ctx); err != nil {
		t.Fatal(err)
	}
	if st.RollbackFloor() != f {
		t.Errorf("floor moved from %d to %d with nothing lost", f, st.RollbackFloor())
	}
}

// TestI14RollbackWatchStops: the watch checks on its own at its interval
// and stops on Close.
func TestI14RollbackWatchStops(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	st, err := redisstore.Open(t.Context(), client, redisstore.Options{RollbackCheckInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecord(t, "alice")
	if err := st.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(t.Context(), rec.Key, store.Reason(3)); err != nil {
		t.Fatal(err)
	}
	flush(t, client)
	if !eventually(5*time.Second, func() bool { return st.RollbackFloor() != 0 }) {
		t.Fatal("the watch did not raise the floor on its own")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := redisstore.Open(t.Context(), client, redisstore.Options{RollbackCheckInterval: -time.Second}); err == nil {
		t.Error("Open accepted a negative RollbackCheckInterval")
	}
}

// TestI14EvictionPolicy: Open refuses a primary that could evict session
// keys, or whose policy it cannot read, unless told to skip the check.
func TestI14EvictionPolicy(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		skip   bool
		refuse string // text the error must hold; "" for no error
	}{
		{"allkeys-lru", []string{"--maxmemory-policy", "allkeys-lru"}, false, `maxmemory-policy "allkeys-lru"`},
		{"volatile-lru", []string{"--maxmemory-policy", "volatile-lru"}, false, `maxmemory-policy "volatile-lru"`},
		{"volatile-ttl", []string{"--maxmemory-policy", "volatile-ttl"}, false, `maxmemory-policy "volatile-ttl"`},
		{"noeviction", []string{"--maxmemory-policy", "noeviction"}, false, ""},
		{"CONFIG disabled", []string{"--rename-command", "CONFIG", ""}, false, "InsecureSkipEvictionPolicyCheck"},
		{"CONFIG disabled, check skipped", []string{"--rename-command", "CONFIG", ""}, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t, tc.args...)
			st, err := redisstore.Open(t.Context(), newClient(t, srv), redisstore.Options{InsecureSkipEvictionPolicyCheck: tc.skip})
			if tc.refuse == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				st.Close()
				t.Fatal("Open accepted the server")
			}
			if !errors.Is(err, redisstore.ErrUnsafeConfig) || !strings.Contains(err.Error(), tc.refuse) || !strings.Contains(err.Error(), "noeviction") {
				t.Errorf("error %q: want ErrUnsafeConfig naming %s and noeviction", err, tc.refuse)
			}
		})
	}
}

// TestI14ClusterChecks: on a Cluster, Open checks every master; without a
// hash tag in Prefix, where the rollback watch cannot work, it needs
// every master to persist every write before acknowledging it.
func TestI14ClusterChecks(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	client := newClusterClient(t, c)
	ctx := t.Context()
	open := func(opts redisstore.Options) error {
		st, err := redisstore.Open(ctx, client, opts)
		if err == nil {
			return st.Close()
		}
		return err
	}
	if err := open(redisstore.Options{Prefix: "sg{s}:"}); err != nil {
		t.Fatalf("tagged prefix, noeviction: %v", err)
	}
	if err := open(redisstore.Options{}); !errors.Is(err, redisstore.ErrUnsafeConfig) || !strings.Contains(err.Error(), "appendfsync") {
		t.Errorf("untagged prefix, no AOF: %v, want ErrUnsafeConfig naming appendfsync", err)
	}
	if err := open(redisstore.Options{InsecureSkipRollbackCheck: true}); err != nil {
		t.Errorf("untagged prefix, rollback check skipped: %v", err)
	}
	// One master of three evicts: refused, naming it.
	last := c.Nodes[len(c.Nodes)-1]
	node := redis.NewClient(&redis.Options{Addr: last.Addr})
	defer node.Close()
	if err := node.ConfigSet(ctx, "maxmemory-policy", "allkeys-lfu").Err(); err != nil {
		t.Fatal(err)
	}
	if err := open(redisstore.Options{Prefix: "sg{s}:"}); !errors.Is(err, redisstore.ErrUnsafeConfig) || !strings.Contains(err.Error(), last.Addr) {
		t.Errorf("one master with allkeys-lfu: %v, want ErrUnsafeConfig naming %s", err, last.Addr)
	}
}

// syncWriter makes a bytes.Buffer safe for the watch's goroutine.
type syncWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestI14EvictionLosesRevocation shows what Open's policy check prevents:
// under allkeys-lru and memory pressure, Redis evicts alice's index (not
// read since she signed in) while the thief keeps her session in use, and
// revoking all her sessions then ends none. The store here comes from New,
// which does not check. LRU keeps its clock to the second, so which of
// the keys touched within one second goes first is left to chance: an
// attempt where the session went first is started again, on a fresh
// server state, up to five times.
func TestI14EvictionLosesRevocation(t *testing.T) {
	srv := redistest.Start(t, "--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru")
	client := newClient(t, srv)
	ctx := t.Context()
	st := redisstore.New(client, redisstore.Options{})
	var stolen *store.Record
	for attempt := 0; stolen == nil; attempt++ {
		if attempt == 5 {
			t.Fatal("in five attempts, the index was never evicted before the session in use")
		}
		flush(t, client)
		stolen = evictIndex(t, client, st)
	}
	// The pressure ends: the revocation's own writes must not evict the
	// session now.
	if err := client.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	rev, err := st.RevokeUser(ctx, "alice", "", store.Reason(6))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, stolen.Key); rev.Ended != 0 || err != nil {
		t.Fatalf("RevokeUser ended %d, and the stolen session reads %v; this test expects the eviction to defeat the revocation", rev.Ended, err)
	}
	if _, err := redisstore.Open(ctx, client, redisstore.Options{}); !errors.Is(err, redisstore.ErrUnsafeConfig) {
		t.Fatalf("Open on this server: %v, want ErrUnsafeConfig", err)
	}
}

// evictIndex signs alice in and fills Redis, using her session all along,
// until her index is evicted. It returns the session, or nil if it was
// evicted first.
func evictIndex(t *testing.T, client *redis.Client, st *redisstore.Store) *store.Record {
	ctx := t.Context()
	stolen := newRecord(t, "alice")
	if err := st.Create(ctx, stolen); err != nil {
		t.Fatal(err)
	}
	junk := strings.Repeat("x", 4096)
	for i := 0; i < 20000; i++ {
		if err := client.Set(ctx, "cache:"+strconv.Itoa(i), junk, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Get(ctx, stolen.Key); err != nil {
			return nil
		}
		n, err := client.Exists(ctx, st.IndexKey("alice")).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return stolen
		}
	}
	return nil
}

// TestI14RollbackAfterScriptFlush: an ending write whose script the server
// no longer holds (after SCRIPT FLUSH, a restart or a failover) runs its
// pipeline twice, EVALSHA then EVAL, and bumps the store's counter twice.
// Both bumps must count as acknowledged: counting one would leave the
// counter one ahead, and the loss of the next ending write unseen.
func TestI14RollbackAfterScriptFlush(t *testing.T) {
	srv := redistest.Start(t, snapshotOnly...)
	client := newClient(t, srv)
	var logs bytes.Buffer
	st := openWatched(t, client, redisstore.Options{}, &logs)
	ctx := t.Context()
	alice, bob := newRecord(t, "alice"), newRecord(t, "bob")
	for _, rec := range []*store.Record{alice, bob} {
		if err := st.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RevokeLineage(ctx, "alice", alice.Key, store.Reason(6)); err != nil {
		t.Fatal(err)
	}
	if err := client.Save(ctx).Err(); err != nil {
		t.Fatalf("SAVE: %v", err)
	}
	if _, err := st.RevokeLineage(ctx, "bob", bob.Key, store.Reason(6)); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	srv.Restart()
	if err := st.CheckRollback(ctx); err != nil {
		t.Fatalf("check after the restart: %v", err)
	}
	if st.RollbackFloor() == 0 {
		t.Fatalf("no rollback found after losing bob's sign-out; log:\n%s", logs.String())
	}
	if _, err := st.Get(ctx, bob.Key); !errors.Is(err, store.ErrGone) {
		t.Errorf("bob's signed-out session after the restart: Get = %v, want ErrGone", err)
	}
}

// TestI14RoundTrips: the rollback watch costs requests no round trip. A
// read is one HMGET; a write that ends sessions carries its counter's
// INCR in its own pipeline.
func TestI14RoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	rt := &roundTrips{}
	client.AddHook(rt)
	ctx := t.Context()
	st := openWatched(t, client, redisstore.Options{}, nil)
	if err := redisstore.LoadScripts(ctx, client); err != nil {
		t.Fatal(err)
	}
	rec := newRecord(t, "alice")
	if err := st.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	ops := []struct {
		name string
		op   func() error
		cmds string
	}{
		{"Get", func() error { _, err := st.Get(ctx, rec.Key); return err }, "hmget"},
		{"RevokeUser", func() error { _, err := st.RevokeUser(ctx, "alice", "", store.Reason(5)); return err }, "evalsha+incr"},
		{"Delete", func() error { return st.Delete(ctx, rec.Key, store.Reason(3)) }, "evalsha+incr"},
	}
	for _, op := range ops {
		n, cmds := rt.measure(func() {
			if err := op.op(); err != nil {
				t.Fatalf("%s: %v", op.name, err)
			}
		})
		if n != 1 || len(cmds) != 1 || cmds[0] != op.cmds {
			t.Errorf("%s: %d round trips %v, want 1: %s", op.name, n, cmds, op.cmds)
		}
	}
}

// TestI14EvictionPolicyChangedLater: a policy changed to an evicting one
// after Open is reported by the watch, once.
func TestI14EvictionPolicyChangedLater(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	var logs bytes.Buffer
	st := openWatched(t, client, redisstore.Options{}, &logs)
	ctx := t.Context()
	for _, step := range []struct {
		policy string
		want   int // reports so far
	}{
		{"noeviction", 0},
		{"volatile-lru", 1},
		{"volatile-lru", 1},
		{"noeviction", 1},
		{"allkeys-lru", 2},
	} {
		if err := client.ConfigSet(ctx, "maxmemory-policy", step.policy).Err(); err != nil {
			t.Fatal(err)
		}
		if err := st.CheckRollback(ctx); err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(logs.String(), "evicting maxmemory-policy"); got != step.want {
			t.Fatalf("after %s: %d reports, want %d; log:\n%s", step.policy, got, step.want, logs.String())
		}
	}
}

// TestI14SignInsCountTheirEndingWrites: the single-slot sign-in bumps the
// rollback watch's counter in its own script, when it ends a session (the
// anonymous session it replaces, the least recently used one past the
// bound) and only then, and the watch counts those bumps: a Redis that
// lost one is caught. A user's first sign-in, which ends nothing, leaves
// the counter alone.
func TestI14SignInsCountTheirEndingWrites(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	look := inspector(t, srv)
	st := openWatched(t, client, redisstore.Options{}, nil)
	ctx := t.Context()
	counter := func() (string, int64) {
		t.Helper()
		keys, err := look.Keys(ctx, redisstore.DefaultPrefix+"w:*").Result()
		if err != nil || len(keys) > 1 {
			t.Fatalf("counter keys %q, %v", keys, err)
		}
		if len(keys) == 0 {
			return "", 0
		}
		n, err := look.Get(ctx, keys[0]).Int64()
		if err != nil {
			t.Fatal(err)
		}
		return keys[0], n
	}
	check := func(when string, want int64) {
		t.Helper()
		if _, n := counter(); n != want {
			t.Errorf("%s: counter %d, want %d", when, n, want)
		}
		if got := st.RollbackAcknowledged(); got != want {
			t.Errorf("%s: %d bumps acknowledged, want %d", when, got, want)
		}
	}

	if _, err := st.SignIn(ctx, &store.SignIn{Record: newRecord(t, "alice"), Limit: 5}); err != nil {
		t.Fatal(err)
	}
	check("a first sign-in", 0)

	anon := newRecord(t, "")
	if err := st.Create(ctx, anon); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SignIn(ctx, &store.SignIn{Record: newRecord(t, "bob"), OldKey: anon.Key, OldVersion: 1, Limit: 5}); err != nil {
		t.Fatal(err)
	}
	check("a sign-in from an anonymous session", 1)

	first := newRecord(t, "carol")
	if _, err := st.SignIn(ctx, &store.SignIn{Record: first, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	check("carol's first sign-in", 1)
	if err := look.ZIncrBy(ctx, lineagesByUse(st.IndexKey("carol")), -float64(time.Hour/time.Microsecond), first.Key).Err(); err != nil {
		t.Fatal(err)
	}
	out, err := st.SignIn(ctx, &store.SignIn{Record: newRecord(t, "carol"), Limit: 1, LimitReason: store.Reason(7)})
	if err != nil || len(out.Ended) != 1 {
		t.Fatalf("carol's second sign-in at a bound of 1: %+v, %v", out, err)
	}
	check("a sign-in at the bound", 2)

	// A Redis that lost the last of those writes is caught.
	key, _ := counter()
	if err := look.Decr(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	if err := st.CheckRollback(ctx); err != nil {
		t.Fatal(err)
	}
	if st.RollbackFloor() == 0 {
		t.Error("a counter below the acknowledged bumps raised no floor")
	}
}
