package redisstore_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/redisstore"
)

// trips is how many round trips each operation may take.
type trips struct {
	// Store calls.
	get, createAnon, createUser, update, rotateLogin, rotateRenew, rotateGrace, delete int
	listPrune, list, revokeLineage, revokeUser                                         int
	// Requests through Manager.Handler.
	reqRead, reqWrite, reqCreate, reqLoginFresh, reqLoginFromAnon, reqLogout int
}

var (
	// singleSlotTrips: one server, Sentinel, or a cluster with a pinned
	// prefix. Every store call is one script. A sign-in (store.Store.SignIn)
	// is one script whether or not the user is at the bound, which it
	// keeps in the same step; a sign-out of a signed-in session revokes
	// its lineage.
	singleSlotTrips = trips{
		get: 1, createAnon: 1, createUser: 1, update: 1, rotateLogin: 1, rotateRenew: 1, rotateGrace: 1, delete: 1,
		listPrune: 1, list: 1, revokeLineage: 1, revokeUser: 1,
		reqRead: 1, reqWrite: 2, reqCreate: 1, reqLoginFresh: 1, reqLoginFromAnon: 2, reqLogout: 2,
	}
	// shardedTrips: a cluster. The index entry of a signed-in record is
	// written before the record, a rotation is two steps, a listing reads
	// the index then the records (and prunes in a third when it found
	// dead entries), a revocation marks in the index then tombstones.
	shardedTrips = trips{
		get: 1, createAnon: 1, createUser: 2, update: 1, rotateLogin: 2, rotateRenew: 2, rotateGrace: 2, delete: 1,
		listPrune: 3, list: 2, revokeLineage: 2, revokeUser: 2,
		reqRead: 1, reqWrite: 2, reqCreate: 1, reqLoginFresh: 2, reqLoginFromAnon: 3, reqLogout: 3,
	}
)

// TestRoundTrips counts the exchanges with Redis of every store call and
// of typical requests, with a go-redis hook. Network latency, not Redis's
// own work, dominates the cost of a session store, so the counts are kept
// as low as the layout allows: one for a read (every request), one or two
// for a write, and the few more a sign-in or sign-out needs.
func TestRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	t.Run("SingleSlot", func(t *testing.T) {
		flush(t, client)
		checkRoundTrips(t, client, redisstore.New(client, redisstore.Options{}), singleSlotTrips)
	})
	t.Run("Sharded", func(t *testing.T) {
		flush(t, client)
		checkRoundTrips(t, client, redisstore.NewSharded(client, redisstore.Options{}), shardedTrips)
	})
}

func checkRoundTrips(t *testing.T, client redis.UniversalClient, st *redisstore.Store, want trips) {
	ctx := t.Context()
	// Load the scripts first, so that no count includes the EVALSHA/EVAL
	// fallback a fresh server needs once per script.
	var err error
	if cc, ok := client.(*redis.ClusterClient); ok {
		err = cc.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error {
			return redisstore.LoadScripts(ctx, n)
		})
	} else {
		err = redisstore.LoadScripts(ctx, client)
	}
	if err != nil {
		t.Fatalf("loading scripts: %v", err)
	}
	rt := &roundTrips{}
	client.AddHook(rt)
	var rows []string
	check := func(what string, want int, f func() error) {
		t.Helper()
		var ferr error
		got, cmds := rt.measure(func() { ferr = f() })
		if ferr != nil {
			t.Fatalf("%s: %v", what, ferr)
		}
		rows = append(rows, fmt.Sprintf("%-30s %d  %s", what, got, strings.Join(cmds, ", ")))
		if got != want {
			t.Errorf("%s: %d round trips (%s), want %d", what, got, strings.Join(cmds, ", "), want)
		}
	}

	anon, user := newRecord(t, ""), newRecord(t, "alice")
	check("Create (anonymous)", want.createAnon, func() error { return st.Create(ctx, anon) })
	check("Create (signed in)", want.createUser, func() error { return st.Create(ctx, user) })
	check("Get", want.get, func() error { _, err := st.Get(ctx, user.Key); return err })
	check("Update", want.update, func() error {
		user.Data = []byte("changed")
		return st.Update(ctx, user)
	})
	login := newRecord(t, "alice")
	check("Rotate (login)", want.rotateLogin, func() error { return st.Rotate(ctx, anon.Key, anon.Version, login, time.Time{}) })
	renewed := newRecord(t, "alice")
	renewed.Lineage = login.Key
	check("Rotate (renewal)", want.rotateRenew, func() error { return st.Rotate(ctx, login.Key, login.Version, renewed, time.Time{}) })
	periodic := newRecord(t, "alice")
	periodic.Lineage = login.Key
	check("Rotate (with grace)", want.rotateGrace, func() error {
		return st.Rotate(ctx, renewed.Key, renewed.Version, periodic, time.Now().Add(time.Minute))
	})
	check("Delete", want.delete, func() error { return st.Delete(ctx, user.Key, store.ReasonNone) })
	check("ListUser (prunes)", want.listPrune, func() error {
		recs, err := st.ListUser(ctx, "alice")
		if err == nil && len(recs) != 2 {
			err = fmt.Errorf("listed %d records, want 2", len(recs))
		}
		return err
	})
	check("ListUser", want.list, func() error { _, err := st.ListUser(ctx, "alice"); return err })
	check("RevokeLineage", want.revokeLineage, func() error {
		n, err := st.RevokeLineage(ctx, "alice", login.Key, store.ReasonNone)
		if err == nil && n != 2 {
			err = fmt.Errorf("ended %d records, want 2", n)
		}
		return err
	})
	other := newRecord(t, "alice")
	if err := st.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	check("RevokeUser", want.revokeUser, func() error {
		rev, err := st.RevokeUser(ctx, "alice", "", store.ReasonNone)
		if err == nil && rev.Ended != 1 {
			err = fmt.Errorf("ended %d records, want 1", rev.Ended)
		}
		return err
	})

	// The same through the Manager, as requests.
	var ev events
	h := app(newManager(t, st, &ev))
	b := &browser{}
	req := func(what string, want int, method, path string, kv ...string) {
		t.Helper()
		check(what, want, func() error {
			r := b.do(h, method, path, form(kv...))
			if r.code != http.StatusOK {
				return fmt.Errorf("%s %s: %d %q", method, path, r.code, r.body)
			}
			return nil
		})
	}
	req("request: sign in, no session", want.reqLoginFresh, http.MethodPost, "/login", "user", "bob")
	req("request: read", want.reqRead, http.MethodGet, "/whoami")
	req("request: write", want.reqWrite, http.MethodPost, "/note", "v", "1")
	req("request: sign out", want.reqLogout, http.MethodPost, "/logout")
	req("request: first write", want.reqCreate, http.MethodPost, "/note", "v", "2")
	req("request: sign in from anon", want.reqLoginFromAnon, http.MethodPost, "/login", "user", "bob")
	t.Logf("round trips:\n\t%s", strings.Join(rows, "\n\t"))
}
