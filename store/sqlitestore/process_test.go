package sqlitestore_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/sqlitestore"
)

// Tests in this file run a second process: the test binary itself, started
// with -test.run=^TestHelperProcess$ and told what to do by helperEnv.
const (
	helperEnv     = "SQLITESTORE_TEST_HELPER"      // "write"
	helperPathEnv = "SQLITESTORE_TEST_HELPER_PATH" // the store file
	helperBaseEnv = "SQLITESTORE_TEST_HELPER_BASE" // Unix nanoseconds the records' times derive from
)

// TestHelperProcess is not a test: it is the child process of
// TestCrashSafety, and skips in a normal run.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "write" {
		t.Skip("child process of TestCrashSafety")
	}
	if err := runHelper(os.Getenv(helperPathEnv), os.Getenv(helperBaseEnv)); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runHelper(path, base string) error {
	s, err := sqlitestore.Open(path, sqlitestore.Options{SweepInterval: 10 * time.Millisecond})
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := strconv.ParseInt(base, 10, 64)
	if err != nil {
		return err
	}
	return writeUntilKilled(s, time.Unix(0, n))
}

// crashOps are the steps the writer takes for session i, in order. Each is
// reported on stdout only after the store call returned nil: a reported
// step is committed.
func crashOps(i int) []string {
	ops := []string{"create"}
	if i%3 == 1 {
		ops = append(ops, "update")
	}
	if i%4 == 2 {
		ops = append(ops, "rotate")
	}
	if i%6 == 5 {
		ops = append(ops, "forward")
	}
	if i%5 == 3 {
		ops = append(ops, "delete")
	}
	return ops
}

// crashRecord is session i as it stands after step (0 for create, then one
// per op): deterministic, so the parent can check every field.
func crashRecord(i, step int, rotated bool, base time.Time) *store.Record {
	name := fmt.Sprint("crash-", i)
	if rotated {
		name += "-renewed"
	}
	rec := &store.Record{
		Key:         fmt.Sprintf("%x", sha256.Sum256([]byte(name))),
		UserID:      fmt.Sprint("user-", i%7),
		Created:     base.Add(time.Duration(i) * time.Millisecond),
		LastSeen:    base.Add(time.Duration(step) * time.Second),
		AuthTime:    base,
		IdleTimeout: time.Hour,
		Deadline:    base.Add(12 * time.Hour),
		IP:          "192.0.2.1",
		UserAgent:   "crash test",
	}
	rec.Expires = rec.LastSeen.Add(rec.IdleTimeout)
	// Sizes from a few bytes to several pages, so that commits span pages
	// and overflow pages.
	rec.Data = bytes.Repeat([]byte{byte(i), byte(step), '.'}, (i*797+step*131)%6000+1)
	return rec
}

// forwardGrace is the grace time of the "forward" step.
func forwardGrace(base time.Time) time.Time { return base.Add(time.Hour) }

func writeUntilKilled(s *sqlitestore.Store, base time.Time) error {
	ctx := context.Background()
	for i := 0; i < 1_000_000; i++ {
		cur := crashRecord(i, 0, false, base)
		for step, op := range crashOps(i) {
			var err error
			switch op {
			case "create":
				err = s.Create(ctx, cur)
			case "update":
				next := crashRecord(i, step, false, base)
				next.Version = cur.Version
				err = s.Update(ctx, next)
				cur = next
			case "rotate":
				next := crashRecord(i, step, true, base)
				err = s.Rotate(ctx, cur.Key, cur.Version, next, time.Time{})
				cur = next
			case "forward":
				next := crashRecord(i, step, true, base)
				next.Lineage = cur.Key
				err = s.Rotate(ctx, cur.Key, cur.Version, next, forwardGrace(base))
				cur = next
			case "delete":
				err = s.Delete(ctx, cur.Key, 7)
			}
			if err != nil {
				return fmt.Errorf("session %d: %s: %w", i, op, err)
			}
			// One unbuffered write per committed step: once it is out, the
			// parent may rely on it.
			if _, err := fmt.Printf("%s %d\n", op, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestCrashSafety kills a process with SIGKILL while it writes sessions as
// fast as it can, then reopens the file and checks that every session it
// reported committed is there exactly as written (tombstones, forwarders
// and the user index included), that what was in flight reads cleanly,
// and that SQLite's integrity check passes. In WAL mode a commit is a
// frame appended to the log with a commit mark; a write cut short has no
// mark and is ignored on recovery.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "sessions.db")
	base := time.Now()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(),
		helperEnv+"=write", helperPathEnv+"="+path, helperBaseEnv+"="+strconv.FormatInt(base.UnixNano(), 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if stderr.Len() > 0 {
			t.Logf("helper stderr:\n%s", stderr.String())
		}
	})
	lines := bufio.NewScanner(stdout)

	const wanted = 300 // sessions reported created before the kill
	done := map[int][]string{}
	created, last := 0, -1
	read := func(line string) {
		op, num, ok := strings.Cut(line, " ")
		i, err := strconv.Atoi(num)
		if !ok || err != nil || !slices.Contains([]string{"create", "update", "rotate", "forward", "delete"}, op) {
			t.Logf("helper said %q", line)
			return
		}
		done[i] = append(done[i], op)
		if op == "create" {
			created++
		}
		last = max(last, i)
	}
	for created < wanted && lines.Scan() {
		read(lines.Text())
	}
	if created < wanted {
		t.Fatalf("helper stopped after %d sessions (%v)", created, lines.Err())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() { // lines written before the kill are committed too
		read(lines.Text())
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper was not killed by SIGKILL: %v", err)
	}
	t.Logf("killed the writer after %d sessions were reported", last+1)

	s := openAt(t, path, sqlitestore.Options{SweepInterval: -1})
	ctx := t.Context()
	listed := map[string][]string{} // user -> keys that must be listed
	inflight := map[string]bool{}   // keys of the session being written at the kill
	for i := 0; i <= last; i++ {
		ops := done[i]
		if i == last {
			// Its next step may have been committed but not reported: check
			// only that whatever is there reads cleanly.
			for _, rotated := range []bool{false, true} {
				key := crashRecord(i, 0, rotated, base).Key
				inflight[key] = true
				if _, err := s.Get(ctx, key); err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrGone) {
					t.Errorf("in-flight session %d: Get: %v", i, err)
				}
			}
			continue
		}
		if want := crashOps(i); !slices.Equal(ops, want) {
			t.Errorf("session %d: the helper reported %v, want %v", i, ops, want)
			continue
		}
		// Replay the reported steps on the expected state.
		first := crashRecord(i, 0, false, base)
		cur, version, alive, renewed := first, uint64(1), true, false
		var fwd *store.Record
		for step, op := range ops[1:] {
			switch op {
			case "update":
				cur, version = crashRecord(i, step+1, false, base), 2
			case "rotate":
				cur, version, renewed = crashRecord(i, step+1, true, base), 1, true
			case "forward":
				fwd = cur.Clone()
				fwd.Version = version + 1
				cur = crashRecord(i, step+1, true, base)
				cur.Lineage, version = fwd.Key, 1
				fwd.Successor, fwd.GraceUntil = cur.Key, forwardGrace(base)
			case "delete":
				alive = false
			}
		}
		if renewed {
			checkReason(t, s, fmt.Sprintf("session %d: renewed-away key", i), first.Key, store.ReasonRenewed)
		}
		if fwd != nil {
			checkGot(t, s, fmt.Sprintf("session %d: forwarder", i), fwd)
			listed[fwd.UserID] = append(listed[fwd.UserID], fwd.Key)
		}
		if !alive {
			checkReason(t, s, fmt.Sprintf("session %d: deleted key", i), cur.Key, 7)
			continue
		}
		want := cur.Clone()
		want.Version = version
		checkGot(t, s, fmt.Sprintf("session %d (%v)", i, ops), want)
		listed[cur.UserID] = append(listed[cur.UserID], cur.Key)
	}
	for user, want := range listed {
		recs, err := s.ListUser(ctx, user)
		if err != nil {
			t.Fatalf("ListUser(%s): %v", user, err)
		}
		got := map[string]bool{}
		for _, r := range recs {
			got[r.Key] = true
		}
		for _, k := range want {
			if !got[k] {
				t.Errorf("ListUser(%s) is missing committed session %.8s", user, k)
			}
			delete(got, k)
		}
		for k := range got {
			if !inflight[k] {
				t.Errorf("ListUser(%s) lists %.8s, which is not a live committed session", user, k)
			}
		}
	}
	integrityCheck(t, path)
}

// openAt opens the store at path and closes it when t ends.
func openAt(t *testing.T, path string, opts sqlitestore.Options) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func checkReason(t *testing.T, s store.Store, what, key string, want store.Reason) {
	t.Helper()
	_, err := s.Get(t.Context(), key)
	if got, ok := store.ReasonOf(err); !errors.Is(err, store.ErrGone) || !ok || got != want {
		t.Errorf("%s: Get err = %v, want a GoneError with reason %d", what, err, want)
	}
}

// checkGot fails t unless the live record of want.Key equals want.
func checkGot(t *testing.T, s store.Store, what string, want *store.Record) {
	t.Helper()
	got, err := s.Get(t.Context(), want.Key)
	if err != nil {
		t.Errorf("%s: committed, but Get after the crash: %v", what, err)
		return
	}
	a, _ := got.MarshalBinary()
	b, _ := want.MarshalBinary()
	if !bytes.Equal(a, b) {
		t.Errorf("%s: record differs after the crash:\n got %+v\nwant %+v", what, got, want)
	}
}

// integrityCheck runs SQLite's own check of the file: pages, B-trees, and
// every index against its table.
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), "PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(msgs, []string{"ok"}) {
		t.Errorf("integrity_check: %v", msgs)
	}
}
