package pgstore_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/pgstore"
)

// TestI11RevokeSeesRotationsInFlightUnderEveryIsolation: a revocation
// waits for the sign-ins (rotations) of the user that are in flight, and
// ends every session of the user committed before it goes on, whatever
// the database's default isolation. At repeatable read or serializable a
// statement's snapshot is taken before it waits, so a revocation that
// read the user's records with it would miss a session committed while
// it waited: no error, and the session outlives the revocation.
func TestI11RevokeSeesRotationsInFlightUnderEveryIsolation(t *testing.T) {
	cases := []struct {
		name, level string
		onDatabase  bool
	}{
		{"read committed", "read committed", true},
		{"repeatable read on the database", "repeatable read", true},
		{"serializable on the database", "serializable", true},
		{"serializable in the connection options", "serializable", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pool := newPoolAt(t, tc.level, tc.onDatabase)
			s := newStore(t, pool, pgstore.Options{SweepInterval: -1})
			ctx := t.Context()
			// A sign-in of alice in flight holds her lock shared (as
			// sessionguard_rotate does), so the revocation waits for it.
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(context.Background())
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock_shared($1, hashtext($2))", pgstore.LockClass, "alice"); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := s.RevokeUser(ctx, "alice", "", store.Reason(5))
				done <- err
			}()
			waitForLockWait(t, pool)
			// While the revocation waits, a session of alice is committed.
			next := newRecord(t, "alice")
			if err := s.Create(ctx, next); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatalf("commit of the rotation: %v", err)
			}
			if err := <-done; err != nil {
				t.Fatalf("RevokeUser: %v", err)
			}
			if _, err := s.Get(ctx, next.Key); !errors.Is(err, store.ErrGone) {
				t.Fatalf("the session committed while the revocation waited: Get = %v after RevokeUser returned, want ErrGone", err)
			}
		})
	}
}

// waitForLockWait waits until a backend of pool waits for an advisory
// lock: the revocation has started and is blocked.
func waitForLockWait(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the revocation never waited for the rotation's lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSerializationRetriesAreBounded: a statement that fails with a
// serialization failure every time (here a trigger raising SQLSTATE 40001
// on the server) is retried a bounded number of times, then fails with
// ErrSerialization; a context that ends stops the retries at once.
func TestSerializationRetriesAreBounded(t *testing.T) {
	pool := newPool(t, nil)
	s := newStore(t, pool, pgstore.Options{SweepInterval: -1})
	ctx := t.Context()
	rec := newRecord(t, "alice")
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
		CREATE FUNCTION always_40001() RETURNS trigger LANGUAGE plpgsql AS
			$$BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '40001'; END$$;
		CREATE TRIGGER always_40001 BEFORE UPDATE ON sessionguard_sessions
			FOR EACH ROW EXECUTE FUNCTION always_40001();`); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		timeout time.Duration
		want    error
		within  time.Duration
	}{
		{"gives up", time.Minute, pgstore.ErrSerialization, 5 * time.Second},
		{"context ends", 20 * time.Millisecond, nil, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, cancel := context.WithTimeout(ctx, tc.timeout)
			defer cancel()
			start := time.Now()
			err := s.Delete(c, rec.Key, store.Reason(3))
			if took := time.Since(start); took > tc.within {
				t.Errorf("Delete took %v, want under %v", took, tc.within)
			}
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Delete = %v, want an error wrapping %v", err, tc.want)
			}
			if tc.want == nil && errors.Is(err, pgstore.ErrSerialization) {
				t.Errorf("Delete = %v: the context ended, the retries were not exhausted", err)
			}
		})
	}
	if _, err := s.Get(ctx, rec.Key); err != nil {
		t.Fatalf("the record after the failed deletes: %v, want it unchanged", err)
	}
}

// flights counts the round trips on a pool's connections: each write to
// the server that follows a read from it starts one.
type flights struct{ n atomic.Int64 }

func (f *flights) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, f: f, reading: true}, nil
}

type countedConn struct {
	net.Conn
	f       *flights
	reading bool // the last operation was a read (or none yet)
}

func (c *countedConn) Write(p []byte) (int, error) {
	if c.reading {
		c.f.n.Add(1)
		c.reading = false
	}
	return c.Conn.Write(p)
}

func (c *countedConn) Read(p []byte) (int, error) {
	c.reading = true
	return c.Conn.Read(p)
}

// TestRevokeIsOneRoundTrip: pinning a revocation to read committed (BEGIN,
// the function, COMMIT) is sent as one pipeline: one round trip, as the
// function call alone was.
func TestRevokeIsOneRoundTrip(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(newPoolURL(t))
	if err != nil {
		t.Fatal(err)
	}
	f := &flights{}
	cfg.ConnConfig.DialFunc = f.dial
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := newStore(t, pool, pgstore.Options{SweepInterval: -1})
	ctx := t.Context()
	for pass := range 3 { // the first pass prepares the statements
		rec := newRecord(t, "alice")
		if err := s.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		before := f.n.Load()
		n, err := s.RevokeLineage(ctx, "alice", rec.LineageKey(), store.Reason(3))
		if err != nil || n != 1 {
			t.Fatalf("RevokeLineage = %d, %v", n, err)
		}
		if got := f.n.Load() - before; pass > 0 && got != 1 {
			t.Errorf("pass %d: RevokeLineage took %d round trips, want 1", pass, got)
		}
	}
}
