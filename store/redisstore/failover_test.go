package redisstore_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/redisstore"
)

// Sentinel's timeouts in the failover tests: short, so that a failover
// takes seconds.
const (
	downAfter       = 500 * time.Millisecond
	failoverTimeout = 2 * time.Second
)

// failoverRig is a primary, its replica and a Sentinel watching them, on
// loopback.
type failoverRig struct {
	primary, replica, sentinel *redistest.Server
}

func newFailoverRig(t *testing.T) *failoverRig {
	t.Helper()
	primary := redistest.Start(t)
	replica := redistest.StartReplica(t, primary)
	sentinel := redistest.StartSentinel(t, primary, 1, downAfter, failoverTimeout)
	return &failoverRig{primary, replica, sentinel}
}

// client returns a Sentinel client for the rig, as an application would
// build it. Its ReadTimeout is above the longest WaitTimeout of the tests:
// a WAIT's reply comes only when the wait is over.
func (r *failoverRig) client(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: redistest.SentinelMaster, SentinelAddrs: []string{r.sentinel.Addr},
		DialTimeout: 500 * time.Millisecond, ReadTimeout: 10 * time.Second, WriteTimeout: time.Second,
		MaxRetries: -1,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// caughtUp waits until the replica has everything the primary wrote.
func (r *failoverRig) caughtUp(t *testing.T) {
	t.Helper()
	offset := func(s *redistest.Server, field string) string {
		for _, line := range strings.Split(s.Info("replication"), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
				return v
			}
		}
		return ""
	}
	redistest.WaitFor(t, "the replica to catch up", func() bool {
		p := offset(r.primary, "master_repl_offset")
		return p != "" && offset(r.replica, "slave_repl_offset") == p
	})
}

// partition holds the replica back: it stops (SIGSTOP), and the primary
// drops its link to it, so that what the primary writes from now on does
// not reach it, not even through a socket buffer, until it reconnects.
func (r *failoverRig) partition(t *testing.T, client *redis.Client) {
	t.Helper()
	r.replica.Pause()
	if err := client.ClientKillByFilter(t.Context(), "TYPE", "replica").Err(); err != nil {
		t.Fatalf("CLIENT KILL TYPE replica: %v", err)
	}
}

// failover kills the primary, lets the replica run again, and waits until
// Sentinel has promoted it.
func (r *failoverRig) failover(t *testing.T) {
	t.Helper()
	r.primary.Kill()
	r.replica.Resume()
	redistest.WaitFor(t, "Sentinel to promote the replica", func() bool {
		return redistest.SentinelPrimary(r.sentinel.Addr) == r.replica.Addr &&
			strings.Contains(r.replica.Info("replication"), "role:master")
	})
}

// TestI14FailoverWithoutWaitEndsSessions: without Options.WaitReplicas, a
// logout the primary acknowledged but its replica missed is undone by a
// failover. The rollback watch sees the promoted replica and ends every
// session written before it, so the signed-out cookie stays dead, whether
// the request reaches an instance that watched the old primary (a
// witness: the logout it saw acknowledged is missing) or one opened after
// the failover (it cannot vouch for the new primary).
func TestI14FailoverWithoutWaitEndsSessions(t *testing.T) {
	for _, fresh := range []bool{false, true} {
		name := map[bool]string{false: "witness", true: "fresh instance"}[fresh]
		t.Run(name, func(t *testing.T) {
			rig := newFailoverRig(t)
			client := rig.client(t)
			var ev events
			st := openWatched(t, client, redisstore.Options{}, nil)
			h := app(newManager(t, st, &ev))
			b := &browser{}
			b.post(h, "/login", form("user", "alice")).want(t, "sign in", http.StatusOK, "ok")
			stolen := b.cookie
			rig.caughtUp(t)

			rig.partition(t, client)
			b.post(h, "/logout", nil).want(t, "sign out", http.StatusOK, "ok")
			rig.failover(t)

			if fresh {
				h = app(newManager(t, openWatched(t, rig.client(t), redisstore.Options{}, nil), &ev))
			} else if err := st.CheckRollback(t.Context()); err != nil {
				t.Fatalf("check after the failover: %v", err)
			}
			replay := &browser{cookie: stolen}
			replay.get(h, "/whoami").want(t, "the signed-out cookie after the failover", http.StatusOK, "user= note=")
		})
	}
}

// TestFailoverKeepsLogoutWithWait: with Options.WaitReplicas, a logout
// the replica cannot acknowledge fails closed (an error, not "signed
// out"), and one it acknowledges, late, waits for it; after the failover
// both sessions stay signed out.
func TestFailoverKeepsLogoutWithWait(t *testing.T) {
	rig := newFailoverRig(t)
	client := rig.client(t)
	var ev events
	short := app(newManager(t, redisstore.New(client, redisstore.Options{WaitReplicas: 1, WaitTimeout: 300 * time.Millisecond}), &ev))
	patient := app(newManager(t, redisstore.New(client, redisstore.Options{WaitReplicas: 1, WaitTimeout: 6 * time.Second}), &ev))
	alice, bob, carol := &browser{}, &browser{}, &browser{}
	alice.post(patient, "/login", form("user", "alice")).want(t, "alice signs in", http.StatusOK, "ok")
	bob.post(patient, "/login", form("user", "bob")).want(t, "bob signs in", http.StatusOK, "ok")
	carol.post(patient, "/login", form("user", "carol")).want(t, "carol signs in", http.StatusOK, "ok")
	aliceCookie, bobCookie := alice.cookie, bob.cookie
	rig.caughtUp(t)

	rig.partition(t, client)
	// Nothing acknowledges bob's logout: it fails closed.
	if r := bob.post(short, "/logout", nil); r.code == http.StatusOK {
		t.Fatalf("logout without a replica's acknowledgement: %d %q, want an error", r.code, r.body)
	}
	e, ok := ev.last(session.EventStoreError)
	if !ok || !errors.Is(e.Err, redisstore.ErrNotReplicated) {
		t.Fatalf("store error event %v (%v), want ErrNotReplicated", e.Err, ok)
	}
	// alice's logout waits for the replica, which comes back in time: it
	// reconnects within a second or two (its replication cron), well
	// within the wait.
	done := make(chan response, 1)
	start := time.Now()
	go func() { done <- alice.post(patient, "/logout", nil) }()
	time.Sleep(300 * time.Millisecond)
	rig.replica.Resume()
	r := <-done
	r.want(t, "logout acknowledged late", http.StatusOK, "ok")
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("the logout returned after %v, before the replica could acknowledge it", d)
	}

	rig.failover(t)
	// An instance opened after the failover, with WaitReplicas, accepts
	// the promoted replica (I14): carol, who never signed out, stays.
	after := app(newManager(t, openWatched(t, rig.client(t), redisstore.Options{WaitReplicas: 1}, nil), &ev))
	for who, cookie := range map[string]string{"alice": aliceCookie, "bob": bobCookie} {
		replay := &browser{cookie: cookie}
		got := replay.get(after, "/whoami")
		got.want(t, who+"'s signed-out cookie after the failover", http.StatusOK, "user= note=")
	}
	carol.get(after, "/whoami").want(t, "carol after the failover", http.StatusOK, "user=carol note=")
}

// TestWaitOptions checks the options' validation and that writes that end
// nothing never wait.
func TestWaitOptions(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	for name, opts := range map[string]redisstore.Options{
		"negative replicas": {WaitReplicas: -1},
		"negative timeout":  {WaitReplicas: 1, WaitTimeout: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("New accepted %+v", opts)
				}
			}()
			redisstore.New(client, opts)
		})
	}
	t.Run("cluster", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("New accepted WaitReplicas with a ClusterClient")
			}
		}()
		redisstore.New(redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr}}), redisstore.Options{WaitReplicas: 1})
	})
	// No replica: a sign-in and a value change work, a logout fails closed.
	st := redisstore.New(client, redisstore.Options{WaitReplicas: 1, WaitTimeout: 50 * time.Millisecond})
	ctx := context.Background()
	rec := newRecord(t, "alice")
	if err := st.Create(ctx, rec); err != nil {
		t.Fatalf("Create: %v", err)
	}
	rec.Data = []byte("changed")
	if err := st.Update(ctx, rec); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := st.Delete(ctx, rec.Key, 0); !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatalf("Delete with no replica: %v, want ErrNotReplicated", err)
	}
	if _, err := st.RevokeUser(ctx, "alice", "", 0); !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatalf("RevokeUser with no replica: %v, want ErrNotReplicated", err)
	}
}
