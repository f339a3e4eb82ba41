package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/redisstore"
)

// Sessions in Redis, shared by every instance of the application. The
// timeouts bound how long a request waits for Redis before it is refused
// (fail closed) rather than served.
func Example() {
	client := redis.NewClient(&redis.Options{
		Addr:         "localhost:6379",
		DialTimeout:  time.Second,
		ReadTimeout:  500 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond,
	})
	defer client.Close()

	// Open refuses a Redis that could evict session keys, and watches for
	// one that goes back in time (a crash restored from a snapshot).
	st, err := redisstore.Open(context.Background(), client, redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	m, err := session.New(st, session.Config{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %q", session.From(r).UserID())
	})
	log.Fatal(http.ListenAndServeTLS(":8443", "cert.pem", "key.pem", m.Handler(mux)))
}

// On Redis Cluster, pass the ClusterClient (or a UniversalClient with
// several addresses): sessions spread over the shards, and a renewal is the
// ordered two-step described in the package documentation. Open then
// needs every master to run with appendonly yes and appendfsync always,
// since the rollback watch cannot cover this layout.
func ExampleOpen_cluster() {
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
	})
	defer client.Close()
	st, err := redisstore.Open(context.Background(), client, redisstore.Options{Prefix: "shop:"})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
}

// A prefix with a hash tag pins every key of the store to one slot, so that
// a renewal is one atomic script on a cluster too, and the rollback watch
// covers the store, at the price of holding all sessions on one shard.
func ExampleOpen_pinnedSlot() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
	})
	defer client.Close()
	st, err := redisstore.Open(context.Background(), client, redisstore.Options{Prefix: "shop{sessions}:"})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
}
