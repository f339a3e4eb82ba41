package memstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/memstore"
)

// A Store is made with New and stopped with Close, which ends its sweeper.
// The session.Manager normally does the rest; this example drives the
// store directly.
func Example() {
	store := memstore.New(memstore.Options{SweepInterval: 10 * time.Minute})

	// Stores see only the SHA-256 of a token, never the token itself.
	sum := sha256.Sum256([]byte("a token the Manager generated"))
	now := time.Now()
	rec := &session.Record{
		Key:         hex.EncodeToString(sum[:]),
		UserID:      "alice",
		Created:     now,
		LastSeen:    now,
		AuthTime:    now,
		IdleTimeout: 30 * time.Minute,
		Deadline:    now.Add(12 * time.Hour),
		Expires:     now.Add(30 * time.Minute),
	}
	ctx := context.Background()
	if err := store.Create(ctx, rec); err != nil {
		log.Fatal(err)
	}
	sessions, err := store.ListUser(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("version:", rec.Version, "alice's sessions:", len(sessions), "live:", store.Len())

	// Logging out deletes the record; the key stays dead.
	if err := store.Delete(ctx, rec.Key); err != nil {
		log.Fatal(err)
	}
	_, err = store.Get(ctx, rec.Key)
	fmt.Println(err)

	if err := store.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// version: 1 alice's sessions: 1 live: 1
	// memstore: get: session: record was deleted or renewed
}
