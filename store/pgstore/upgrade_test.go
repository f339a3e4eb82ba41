package pgstore_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/pgstore"
)

// TestCreateTableUpgradesTheFirstSchema: a database made by the previous
// version of the package (one table, testdata/schema-1.sql) with live
// sessions is upgraded by CreateTable: the live sessions' lineages are
// listed (as never used), so that the first sign-in at the bound counts
// and ends them, and the sign-in write and the marks work.
func TestCreateTableUpgradesTheFirstSchema(t *testing.T) {
	ctx := t.Context()
	pool, err := pgxpool.New(context.Background(), pg.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	old, err := os.ReadFile("testdata/schema-1.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, string(old)); err != nil {
		t.Fatalf("the first schema: %v", err)
	}
	// Two live sessions of alice and an ended one, as the first schema
	// stored them.
	a, b, ended := newRecord(t, "alice"), newRecord(t, "alice"), newRecord(t, "alice")
	for _, rec := range []*store.Record{a, b, ended} {
		raw, err := withVersion(rec, 1).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO sessionguard_sessions (key, version, user_id, lineage, expires, record)
			VALUES ($1, 1, $2, $1, $3, $4)`, rec.Key, rec.UserID, rec.Expires.UnixNano(), raw); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `UPDATE sessionguard_sessions SET gone = 9, user_id = NULL, record = NULL, version = 0 WHERE key = $1`, ended.Key); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, pool, pgstore.Options{SweepInterval: -1})
	for range 2 { // and again: CreateTable runs at every start
		if err := s.CreateTable(ctx); err != nil {
			t.Fatalf("CreateTable on the first schema: %v", err)
		}
	}
	var lineages []string
	rows, err := pool.Query(ctx, `SELECT lineage FROM sessionguard_lineages WHERE user_id = 'alice' AND last_use = 'epoch'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		lineages = append(lineages, l)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(lineages)
	want := []string{a.Key, b.Key}
	slices.Sort(want)
	if !slices.Equal(lineages, want) {
		t.Errorf("lineages after the upgrade = %d %v, want alice's two live sessions", len(lineages), lineages)
	}
	// A sign-in at a bound of two ends one of the old sessions.
	out, err := s.SignIn(ctx, &store.SignIn{Record: newRecord(t, "alice"), Limit: 2, LimitReason: store.Reason(7)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Sessions != 2 || len(out.Ended) != 1 || !slices.Contains(want, out.Ended[0]) {
		t.Errorf("sign-in after the upgrade: %d sessions, ended %v; want 2, one of the old two", out.Sessions, out.Ended)
	}
	rev, err := s.RevokeUser(ctx, "alice", "", store.Reason(9))
	if err != nil || rev.Ended != 2 || rev.Mark.IsZero() {
		t.Errorf("RevokeUser after the upgrade = %+v, %v; want 2 ended and a mark", rev, err)
	}
	_, err = s.SignIn(ctx, &store.SignIn{Record: newRecord(t, "alice"), Elapsed: 5 * time.Second})
	var rs *store.RevokedSinceError
	if !errors.As(err, &rs) || rs.Reason != 9 {
		t.Errorf("a sign-in that began before the revocation: %v, want RevokedSince(9)", err)
	}
}

func withVersion(rec *store.Record, v uint64) *store.Record {
	c := rec.Clone()
	c.Version = v
	return c
}

// TestSweepEndsLineagesAndMarks: the sweeper deletes the lineage of a
// signed-in record it sweeps, unless another record of it is live, and
// the marks older than store.MarkTTL.
func TestSweepEndsLineagesAndMarks(t *testing.T) {
	pool := newPool(t, nil)
	s := newStore(t, pool, pgstore.Options{SweepInterval: -1})
	ctx := t.Context()
	short, long := newRecord(t, "alice"), newRecord(t, "alice")
	short.Expires = time.Now().Add(100 * time.Millisecond)
	for _, rec := range []*store.Record{short, long} {
		if _, err := s.SignIn(ctx, &store.SignIn{Record: rec}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RevokeUser(ctx, "bob", "", 9); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO sessionguard_marks VALUES ('carol', clock_timestamp() - interval '61 minutes', 9)`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sql  string
		want int
	}{
		{`SELECT count(*) FROM sessionguard_lineages WHERE lineage = '` + short.Key + `'`, 0},
		{`SELECT count(*) FROM sessionguard_lineages WHERE lineage = '` + long.Key + `'`, 1},
		{`SELECT count(*) FROM sessionguard_marks WHERE user_id = 'bob'`, 1},
		{`SELECT count(*) FROM sessionguard_marks WHERE user_id = 'carol'`, 0},
	} {
		var n int
		if err := pool.QueryRow(ctx, c.sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != c.want {
			t.Errorf("%s = %d after the sweep, want %d", c.sql, n, c.want)
		}
	}
}
