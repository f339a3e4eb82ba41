package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/testsupport/pgtest"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/pgstore"
)

// pg is one PostgreSQL server for the whole package; each test gets a
// database of its own on it. Durability is off: these tests check
// behaviour, and a crash of the server is not among them.
var pg = pgtest.Shared{Settings: []string{"fsync=off", "synchronous_commit=off", "full_page_writes=off"}}

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

// queries counts the queries a pool sends: with statements cached (pgx's
// default), each is one round trip once the statement is prepared.
type queries struct{ n atomic.Int64 }

func (q *queries) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.n.Add(1)
	return ctx
}
func (q *queries) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// newPool returns a pool on a fresh database of the shared server, with
// the schema created, closed when t ends.
func newPool(t *testing.T, tracer pgx.QueryTracer) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pg.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgstore.New(pool, pgstore.Options{SweepInterval: -1}).CreateTable(t.Context()); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return pool
}

// newStore returns a store on pool, closed when t ends.
func newStore(t *testing.T, pool *pgxpool.Pool, opts pgstore.Options) *pgstore.Store {
	t.Helper()
	s := pgstore.New(pool, opts)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// truncate empties the store's tables.
func truncate(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), "TRUNCATE sessionguard_sessions"); err != nil {
		t.Fatalf("truncate: %v", err)
	}
}

func newKey(t testing.TB) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// newRecord returns a record of userID ("" for anonymous) that lives an
// hour.
func newRecord(t testing.TB, userID string) *store.Record {
	now := time.Now()
	rec := &store.Record{
		Key: newKey(t), UserID: userID,
		Created: now, LastSeen: now, IdleTimeout: time.Hour,
		Deadline: now.Add(12 * time.Hour), Expires: now.Add(time.Hour),
		IP: "203.0.113.9", UserAgent: "pgstore test", Data: []byte("values"),
	}
	if userID != "" {
		rec.AuthTime = now
	}
	return rec
}

// newPoolAt is newPool on a database whose statements run at isolation
// level (as default_transaction_isolation names it), set on the database
// or in the pool's connection options.
func newPoolAt(t *testing.T, level string, onDatabase bool) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pg.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	if onDatabase {
		conn, err := pgx.Connect(t.Context(), cfg.ConnConfig.ConnString())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		db := pgx.Identifier{cfg.ConnConfig.Database}.Sanitize()
		if _, err := conn.Exec(t.Context(), "ALTER DATABASE "+db+" SET default_transaction_isolation = '"+level+"'"); err != nil {
			t.Fatalf("ALTER DATABASE: %v", err)
		}
	} else {
		cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = level
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	var got string
	if err := pool.QueryRow(t.Context(), "SHOW transaction_isolation").Scan(&got); err != nil || got != level {
		t.Fatalf("transaction_isolation = %q (%v), want %q", got, err, level)
	}
	if err := pgstore.New(pool, pgstore.Options{SweepInterval: -1}).CreateTable(t.Context()); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return pool
}

// newPoolURL returns the URL of a fresh database of the shared server
// with the schema created.
func newPoolURL(t *testing.T) string {
	t.Helper()
	url := pg.Database(t)
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pgstore.New(pool, pgstore.Options{SweepInterval: -1}).CreateTable(t.Context()); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return url
}
