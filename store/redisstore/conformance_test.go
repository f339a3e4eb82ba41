package redisstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/redisstore"
	"github.com/sessionguard/sessionguard/store/storetest"
)

// TestConformance runs the store conformance suite against a real
// redis-server, in both layouts: single-slot (what a single server or
// Sentinel gets) and sharded (what a cluster gets), so that the two-step
// rotation is also checked without a cluster.
func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	client := newClientWaiting(t, srv, 10*time.Second)
	for _, c := range []struct {
		name    string
		new     func(redis.UniversalClient, redisstore.Options) *redisstore.Store
		sharded bool
	}{
		{"SingleSlot", redisstore.New, false},
		{"Sharded", redisstore.NewSharded, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				flush(t, client)
				st := c.new(client, redisstore.Options{})
				if st.Sharded() != c.sharded {
					t.Fatalf("Sharded() = %v, want %v", st.Sharded(), c.sharded)
				}
				return st
			})
		})
	}
}

// TestCluster runs against a real three-primary Redis Cluster. The suite
// runs with the default prefix (the sharded layout, keys spread over the
// slots) and with a prefix that pins every key to one slot (the
// single-slot layout, which must then never trip CROSSSLOT). One cluster
// serves every subtest, since starting one takes a few seconds.
func TestCluster(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	client := newClusterClientWaiting(t, cluster, 5*time.Second)
	for _, c := range []struct {
		name    string
		prefix  string
		sharded bool
	}{
		{"Sharded", "", true},
		{"PinnedPrefix", "sg{sessions}:", false},
	} {
		t.Run("Conformance/"+c.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				flush(t, client)
				st := redisstore.New(client, redisstore.Options{Prefix: c.prefix})
				if st.Sharded() != c.sharded {
					t.Fatalf("Sharded() = %v, want %v", st.Sharded(), c.sharded)
				}
				return st
			})
		})
	}
	t.Run("KeysSpreadOverNodes", func(t *testing.T) {
		// The default layout exists to spread sessions over the cluster;
		// check that it does.
		flush(t, client)
		st := redisstore.New(client, redisstore.Options{})
		for range 60 {
			rec := newRecord(t, "")
			if err := st.Create(t.Context(), rec); err != nil {
				t.Fatalf("Create: %v", err)
			}
		}
		var nodes atomic.Int32 // ForEachMaster runs in parallel
		err := client.ForEachMaster(t.Context(), func(ctx context.Context, n *redis.Client) error {
			size, err := n.DBSize(ctx).Result()
			if err == nil && size > 0 {
				nodes.Add(1)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if nodes := nodes.Load(); nodes < 2 {
			t.Errorf("60 sessions landed on %d of 3 primaries", nodes)
		}
	})
	t.Run("RoundTrips/Sharded", func(t *testing.T) {
		flush(t, client)
		checkRoundTrips(t, client, redisstore.New(client, redisstore.Options{}), shardedTrips)
	})
	t.Run("RoundTrips/PinnedPrefix", func(t *testing.T) {
		flush(t, client)
		checkRoundTrips(t, client, redisstore.New(client, redisstore.Options{Prefix: "sg{sessions}:"}), singleSlotTrips)
	})
}
