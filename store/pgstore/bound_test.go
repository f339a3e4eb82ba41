package pgstore_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/pgstore"
)

// TestSignInAtTheBoundReadsStayFlat holds the plan of the sign-in's bound
// as one user signs in again and again at MaxSessionsPerUser 1, with
// autovacuum at its defaults and no VACUUM: the two reads of the bound
// (the user's lineage count, and the least recently used lineage) must
// read as many buffers after the 3,000th sign-in as after the 100th. Each
// sign-in ends the lineage before it, and each round also moves the
// user's lineages back an hour (as a use would, it rewrites their rows),
// so the table churns twice as fast as sign-ins alone make it. Buffers, not
// time, so that a busy machine cannot fail it. (Before the lineages had a
// table of their own, the bound listed the user's records through an
// index that kept an entry for every revoked one until vacuum.)
func TestSignInAtTheBoundReadsStayFlat(t *testing.T) {
	pool := newPool(t, nil)
	s := newStore(t, pool, pgstore.Options{SweepInterval: -1})
	ctx := t.Context()
	const user = "kiosk"
	// 20,000 other users' sessions, so that the indexes have the depth
	// they have in use from the start: the comparison is then of the
	// user's range alone.
	if _, err := pool.Exec(ctx, `INSERT INTO sessionguard_lineages (user_id, lineage, last_use)
		SELECT 'user-' || i, md5(i::text), now() FROM generate_series(1, 20000) AS i`); err != nil {
		t.Fatal(err)
	}
	// The most each read took over the 91st to 100th sign-ins, and over
	// the 2,991st to 3,000th: where a lineage lands among the index pages
	// moves a read by a buffer or two from one sign-in to the next (3 to 5
	// over 7,000 sign-ins, measured), which the comparison allows; a read
	// over every ended lineage would take a page per couple of hundred.
	early, late := make(map[string]int), make(map[string]int)
	for i := 1; i <= 3000; i++ {
		// The earlier lineages were last used an hour ago: the bound may
		// end them.
		if _, err := pool.Exec(ctx, `UPDATE sessionguard_lineages SET last_use = last_use - interval '1 hour' WHERE user_id = $1`, user); err != nil {
			t.Fatal(err)
		}
		out, err := s.SignIn(ctx, &store.SignIn{Record: newRecord(t, user), Limit: 1, LimitReason: store.Reason(7)})
		if err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
		if i > 1 && (len(out.Ended) != 1 || out.Sessions != 1) {
			t.Fatalf("sign-in %d: ended %d, %d sessions; want 1 and 1", i, len(out.Ended), out.Sessions)
		}
		var window map[string]int
		switch {
		case i > 90 && i <= 100:
			window = early
		case i > 2990:
			window = late
		default:
			continue
		}
		for q, b := range boundBuffers(t, pool, user) {
			window[q] = max(window[q], b)
		}
	}
	for q, b := range late {
		t.Logf("%s: at most %d buffers around the 100th sign-in, %d around the 3,000th", q, early[q], b)
		if b > early[q]+2 {
			t.Errorf("%s reads up to %d buffers around the 3,000th sign-in, %d around the 100th", q, b, early[q])
		}
	}
}

// boundBuffers returns the shared buffers (hit or read) of the bound's
// two reads for user, from EXPLAIN (ANALYZE, BUFFERS).
func boundBuffers(t *testing.T, pool *pgxpool.Pool, user string) map[string]int {
	t.Helper()
	out := make(map[string]int)
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"lineage count": {pgstore.SQLLineageCount, []any{user}},
		"least used":    {pgstore.SQLLeastUsed, []any{user, time.Now()}},
	} {
		var raw []byte
		if err := pool.QueryRow(t.Context(), "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+q.sql, q.args...).Scan(&raw); err != nil {
			t.Fatalf("EXPLAIN %s: %v", name, err)
		}
		var plans []struct {
			Plan struct {
				Hit  int `json:"Shared Hit Blocks"`
				Read int `json:"Shared Read Blocks"`
			} `json:"Plan"`
		}
		if err := json.Unmarshal(raw, &plans); err != nil || len(plans) != 1 {
			t.Fatalf("EXPLAIN %s: %v", name, err)
		}
		out[name] = plans[0].Plan.Hit + plans[0].Plan.Read
	}
	return out
}
