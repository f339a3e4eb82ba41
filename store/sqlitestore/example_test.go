package sqlitestore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/sqlitestore"
)

// A Store is opened on a file and closed when done. The session.Manager
// normally does the rest; this example drives the store directly, and
// shows that the sessions are still there when the file is opened again.
func Example() {
	dir, err := os.MkdirTemp("", "sqlitestore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sessions.db")

	st, err := sqlitestore.Open(path, sqlitestore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	// Stores see only the SHA-256 of a token, never the token itself.
	sum := sha256.Sum256([]byte("a token the Manager generated"))
	now := time.Now()
	rec := &store.Record{
		Key: hex.EncodeToString(sum[:]), UserID: "alice",
		Created: now, LastSeen: now, AuthTime: now,
		IdleTimeout: 30 * time.Minute, Deadline: now.Add(12 * time.Hour), Expires: now.Add(30 * time.Minute),
	}
	ctx := context.Background()
	if err := st.Create(ctx, rec); err != nil {
		log.Fatal(err)
	}
	if err := st.Close(); err != nil {
		log.Fatal(err)
	}

	st, err = sqlitestore.Open(path, sqlitestore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	sessions, err := st.ListUser(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("alice's sessions after reopening:", len(sessions))
	// Output:
	// alice's sessions after reopening: 1
}
