package sqlitestore_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session/sessiontest"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/sqlitestore"
	"github.com/sessionguard/sessionguard/store/storetest"
)

// checkLineages fails t unless the lineages table holds exactly the
// (user, lineage) pairs of the session rows.
func checkLineages(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pairs := func(q string) []string {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var u, l string
			if err := rows.Scan(&u, &l); err != nil {
				t.Fatal(err)
			}
			out = append(out, u+"/"+l)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	got := pairs(`SELECT user_id, lineage FROM sessionguard_lineages`)
	want := pairs(`SELECT DISTINCT user_id, lineage FROM sessionguard_sessions WHERE user_id IS NOT NULL`)
	if !slices.Equal(got, want) {
		t.Errorf("lineages table %v, want %v", got, want)
	}
}

// TestLineagesFollowTheRows: the triggers keep the lineages table in step
// with every write, the bound, a revocation and the sweeper.
func TestLineagesFollowTheRows(t *testing.T) {
	clk := sessiontest.NewClock(time.Now())
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := sqlitestore.Open(path, sqlitestore.Options{Now: clk.Now, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	var recs []*store.Record
	for range 4 {
		rec := newRecord(t, "alice")
		if _, err := s.SignIn(ctx, &store.SignIn{Record: rec}); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
		clk.Advance(time.Second)
	}
	next := newRecord(t, "alice")
	next.Lineage = recs[0].Key
	if err := s.Rotate(ctx, recs[0].Key, 1, next, clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	moved := recs[3].Clone()
	moved.UserID = "bob"
	if err := s.Update(ctx, moved); err != nil {
		t.Fatal(err)
	}
	checkLineages(t, path)
	clk.Advance(5 * time.Second)
	out, err := s.SignIn(ctx, &store.SignIn{Record: newRecord(t, "alice"), Limit: 2, LimitReason: 9})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{recs[1].Key, recs[2].Key}; !slices.Equal(out.Ended, want) || out.Sessions != 2 {
		t.Errorf("Ended %v, Sessions %d; want %v, 2", out.Ended, out.Sessions, want)
	}
	checkLineages(t, path)
	if _, err := s.RevokeUser(ctx, "alice", "", 9); err != nil {
		t.Fatal(err)
	}
	checkLineages(t, path)
	clk.Advance(48 * time.Hour)
	if _, err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	checkLineages(t, path)
	// The mark is swept too: a sign-in of a request that began long ago
	// would be refused for its age alone, so look at the table.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var marks int
	if err := db.QueryRow(`SELECT count(*) FROM sessionguard_marks`).Scan(&marks); err != nil || marks != 0 {
		t.Errorf("%d marks after the sweep (%v), want 0", marks, err)
	}
}

// TestOpenUpgradesTheFirstSchema: a file of the first schema gets the
// lineages and marks when it opens; its sessions count for the bound, as
// the least recently used.
func TestOpenUpgradesTheFirstSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := sqlitestore.Open(path, sqlitestore.Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	old := newRecord(t, "alice")
	if err := errors.Join(s.Create(t.Context(), old), s.Close()); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`DROP TRIGGER sessionguard_lineage_insert`, `DROP TRIGGER sessionguard_lineage_update`,
		`DROP TRIGGER sessionguard_lineage_leave`, `DROP TRIGGER sessionguard_lineage_delete`,
		`DROP TABLE sessionguard_lineages`, `DROP TABLE sessionguard_marks`,
		`DROP INDEX sessionguard_sessions_lineage`, `ALTER TABLE sessionguard_sessions DROP COLUMN used`,
		`PRAGMA user_version = 0`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlitestore.Open(path, sqlitestore.Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkLineages(t, path)
	time.Sleep(store.SignInMargin + 100*time.Millisecond)
	out, err := s.SignIn(t.Context(), &store.SignIn{Record: newRecord(t, "alice"), Limit: 1, LimitReason: 9})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{old.Key}; !slices.Equal(out.Ended, want) {
		t.Errorf("Ended %v, want %v", out.Ended, want)
	}
	checkLineages(t, path)
}

func BenchmarkSignIn(b *testing.B) {
	storetest.BenchmarkSignIn(b, func(b *testing.B, now func() time.Time) store.Store {
		s, err := sqlitestore.Open(filepath.Join(b.TempDir(), "s.db"), sqlitestore.Options{Now: now, SweepInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}
