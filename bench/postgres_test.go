package bench

import (
	"context"
	"sync/atomic"
	"testing"

	scspg "github.com/alexedwards/scs/postgresstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sessionguard/sessionguard/internal/testsupport/pgtest"
	"github.com/sessionguard/sessionguard/store/pgstore"
)

// queryCounter counts the round trips a pgx connection makes: each query
// (with pgx's default statement cache, one round trip once prepared, for
// both libraries: scs's store runs on the same driver through
// database/sql, pgx's stdlib) and each batch, which pgx sends in one
// round trip whatever it holds (pgstore's sign-in and revocation are
// batches: BEGIN, one call, COMMIT).
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	q.n.Add(1)
	return ctx
}
func (q *queryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (q *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

func (q *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.n.Add(1)
	return ctx
}
func (q *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// scsSchema is the table scs's postgresstore documents.
const scsSchema = `CREATE TABLE sessions (
	token TEXT PRIMARY KEY,
	data BYTEA NOT NULL,
	expiry TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);`

type pgLib struct {
	lib
	queries *queryCounter
}

// postgresLibs starts a private PostgreSQL server with synchronous_commit
// off, so that a commit does not wait for the disk (the figures then
// measure the libraries and their round trips, not this machine's disk),
// and returns
// sessionguard on store/pgstore and scs on its postgresstore, each in a
// database of its own on that server, with their queries counted.
func postgresLibs(tb testing.TB) []pgLib {
	srv := pgtest.Start(tb, "synchronous_commit=off")
	ctx := context.Background()
	connect := func() (*pgx.ConnConfig, *queryCounter) {
		url, err := srv.CreateDatabase(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			tb.Fatal(err)
		}
		q := &queryCounter{}
		cfg.Tracer = q
		return cfg, q
	}

	sgConn, sgQueries := connect()
	pcfg, err := pgxpool.ParseConfig("")
	if err != nil {
		tb.Fatal(err)
	}
	pcfg.ConnConfig = sgConn
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	sg := pgstore.New(pool, pgstore.Options{})
	tb.Cleanup(func() { sg.Close() })
	if err := sg.CreateTable(ctx); err != nil {
		tb.Fatal(err)
	}

	scsConn, scsQueries := connect()
	db := stdlib.OpenDB(*scsConn)
	tb.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(ctx, scsSchema); err != nil {
		tb.Fatal(err)
	}
	st := scspg.New(db)
	tb.Cleanup(st.StopCleanup)
	return []pgLib{
		{sessionguardLib(tb, sg), sgQueries},
		{scsLib(tb, st), scsQueries},
	}
}

// BenchmarkPostgres runs read, write and the sign-ins with each library's
// PostgreSQL store against the same local server, reporting queries (round
// trips) per request.
func BenchmarkPostgres(b *testing.B) {
	libs := postgresLibs(b)
	for _, c := range []string{"read", "write", "login-new-user", "login-anon", "login"} {
		b.Run(c, func(b *testing.B) {
			for _, l := range libs {
				b.Run(l.name, func(b *testing.B) {
					var before int64
					runCase(b, l.lib, c, func() { before = l.queries.n.Load() })
					b.ReportMetric(float64(l.queries.n.Load()-before)/float64(b.N), "queries/op")
				})
			}
		})
	}
}

// TestPostgresSameWork runs the correctness check on both PostgreSQL
// stores, and checks sessionguard's round trips: one for a read and for
// the sign-in of a user within the session bound (its write counts the
// user's sessions), at most two for a write and for a sign-in from an
// anonymous session.
func TestPostgresSameWork(t *testing.T) {
	for _, l := range postgresLibs(t) {
		t.Run(l.name, func(t *testing.T) {
			checkLib(t, l.lib)
			checkFromAnon(t, l.lib)
		})
		if l.name != "sessionguard" {
			continue
		}
		cookie := l.cookie(t)
		for _, c := range []string{"read", "write", "login", "login-new-user", "login-anon", "read", "write", "login", "login-new-user", "login-anon"} {
			limit := map[string]int64{"read": 1, "write": 2, "login": 1, "login-new-user": 1, "login-anon": 2}[c]
			r := requestFor(t, l.lib, c, cookie)
			before := l.queries.n.Load()
			l.handler(c).ServeHTTP(&discard{h: map[string][]string{}}, r)
			if n := l.queries.n.Load() - before; n > limit || n < 1 {
				t.Errorf("%s: %d round trips, want 1..%d", c, n, limit)
			}
		}
	}
}
