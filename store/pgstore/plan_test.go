package pgstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/store/pgstore"
)

// TestPerUserStatementsUseTheUserIndex: the statements that look at one
// user's rows (the listing, the count a sign-in makes) must read the user
// index alone. With statistics that lag behind a burst of sign-ins, the
// planner took the expires index too, which holds every live session: a
// sign-in then read the whole index, 1 ms at 20,000 sessions, growing with
// the store.
func TestPerUserStatementsUseTheUserIndex(t *testing.T) {
	pool := newPool(t, nil)
	ctx := t.Context()
	now := time.Now()
	// 20,000 sessions of as many users, written without ANALYZE, as after
	// a burst of sign-ins.
	if _, err := pool.Exec(ctx, `INSERT INTO sessionguard_sessions (key, version, user_id, lineage, expires, record)
		SELECT md5(i::text) || md5((i + 1)::text), 1, 'user-' || i, md5(i::text), $1, '\x00'::bytea
		FROM generate_series(1, 20000) AS i`, now.Add(time.Hour).UnixNano()); err != nil {
		t.Fatal(err)
	}
	for name, at := range pgstore.PerUserStatements {
		sql := pgstore.PerUserSQL(name)
		n := max(at[0], at[1])
		// The other parameters' values do not matter to the plan of a
		// statement that is only explained.
		args := make([]any, n)
		args[at[0]-1], args[at[1]-1] = "user-7", now.UnixNano()
		plan := explain(t, pool, sql, args)
		if strings.Contains(plan, "sessionguard_sessions_expires") || !strings.Contains(plan, "sessionguard_sessions_user") {
			t.Errorf("%s reads other than the user index:\n%s", name, plan)
		}
	}
}

// explain returns the plan PostgreSQL makes for sql with args.
func explain(t *testing.T, pool *pgxpool.Pool, sql string, args []any) string {
	t.Helper()
	rows, err := pool.Query(t.Context(), "EXPLAIN "+sql, args...)
	if err != nil {
		t.Fatalf("EXPLAIN: %v", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("EXPLAIN: %v", err)
	}
	return strings.Join(plan, "\n")
}
