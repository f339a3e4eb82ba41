package memstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"time"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/memstore"
)

// A Store is made with New and stopped with Close, which ends its sweeper.
// The session.Manager normally does the rest; this example drives the
// store directly.
func Example() {
	st := memstore.New(memstore.Options{SweepInterval: 10 * time.Minute})

	// Stores see only the SHA-256 of a token, never the token itself.
	sum := sha256.Sum256([]byte("a token the Manager generated"))
	now := time.Now()
	rec := &store.Record{
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
	if err := st.Create(ctx, rec); err != nil {
		log.Fatal(err)
	}
	sessions, err := st.ListUser(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("version:", rec.Version, "alice's sessions:", len(sessions), "live:", st.Len())

	// Logging out deletes the record; the key stays dead.
	if err := st.Delete(ctx, rec.Key, store.ReasonNone); err != nil {
		log.Fatal(err)
	}
	_, err = st.Get(ctx, rec.Key)
	fmt.Println(err)

	if err := st.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// version: 1 alice's sessions: 1 live: 1
	// memstore: get: store: record was ended
}
