package sqlitestore_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session/sessiontest"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/sqlitestore"
)

// TestSignInAtTheBoundStaysFlat holds the work of a sign-in at the bound
// as one user signs in again and again at MaxSessionsPerUser 100, each
// sign-in past the 100th ending one session, the store's clock moving on
// by more than SignInMargin between sign-ins (as a user signing in again
// does). After 3,000 sign-ins, the user's rows in the lineages table and
// in the sessions' user index are at the bound (an ended session's
// tombstone leaves both), and each read of the bound goes through an
// index on the user: the least recently used lineage through (user_id,
// used), so that it reads one entry, not the user's lineages. SQLite does
// not count a statement's page reads for database/sql, so the rows and
// the plan stand for them. Under the race detector, 500 sign-ins.
func TestSignInAtTheBoundStaysFlat(t *testing.T) {
	const limit, user = 100, "kiosk"
	signIns := 3000
	if raceDetector {
		// The same checks after 500 sign-ins, within 20 s on a busy
		// machine; without the race detector 3,000 take about 3 s.
		signIns = 500
	}
	clk := sessiontest.NewClock(time.Now())
	path := filepath.Join(memDir(t), "s.db")
	s, err := sqlitestore.Open(path, sqlitestore.Options{SweepInterval: -1, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 1; i <= signIns; i++ {
		clk.Advance(store.SignInMargin + 50*time.Millisecond)
		rec := newRecord(t, user)
		out, err := s.SignIn(t.Context(), &store.SignIn{Record: rec, Limit: limit, LimitReason: store.Reason(7)})
		if err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
		if ended := max(0, min(1, i-limit)); out.Sessions != min(i, limit) || len(out.Ended) != ended {
			t.Fatalf("sign-in %d: %d sessions, ended %d; want %d and %d", i, out.Sessions, len(out.Ended), min(i, limit), ended)
		}
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`SELECT count(*) FROM sessionguard_lineages WHERE user_id = ?`,
		`SELECT count(*) FROM sessionguard_sessions WHERE user_id = ?`,
	} {
		var n int
		if err := db.QueryRow(q, user).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != limit {
			t.Errorf("after %d sign-ins, %s: %d, want %d", signIns, q, n, limit)
		}
	}
	for _, c := range []struct {
		name, sql, index string
		args             []any
	}{
		{"lineage count", sqlitestore.SQLLineages, "", []any{user}},
		{"least used", sqlitestore.SQLLeastUsed, "sessionguard_lineages_used", []any{user, clk.Now().UnixNano(), "", 1}},
		{"lineage live", sqlitestore.SQLLineageLive, "sessionguard_sessions_lineage", []any{user, "x", clk.Now().UnixNano()}},
	} {
		plan := queryPlan(t, db, c.sql, c.args...)
		if !strings.HasPrefix(plan, "SEARCH ") || !strings.Contains(plan, "INDEX "+c.index) || !strings.Contains(plan, "(user_id=?") {
			t.Errorf("%s: plan %q, want a search of index %s on the user", c.name, plan, c.index)
		}
		if strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: plan %q sorts the user's rows", c.name, plan)
		}
	}
}

// memDir returns a temporary directory in memory (/dev/shm) where there
// is one, else t.TempDir(): the test counts rows, and a disk's syncs
// would only make 3,000 sign-ins slow.
func memDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/dev/shm", "sqlitestore-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// queryPlan returns the details of EXPLAIN QUERY PLAN for q, one step a
// line.
func queryPlan(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN %s: %v", q, err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(steps, "\n")
}
