package boltstore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// Tests in this file run a second process: the test binary itself, started
// with -test.run=^TestHelperProcess$ and told what to do by helperEnv.
const (
	helperEnv     = "BOLTSTORE_TEST_HELPER"      // "write" or "hold"
	helperPathEnv = "BOLTSTORE_TEST_HELPER_PATH" // the store file
	helperBaseEnv = "BOLTSTORE_TEST_HELPER_BASE" // Unix nanoseconds the records' times derive from
)

// TestHelperProcess is not a test: it is the child process of
// TestCrashSafety and TestLockedByOtherProcess, and skips in a normal run.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("child process of TestCrashSafety and TestLockedByOtherProcess")
	}
	err := runHelper(mode, os.Getenv(helperPathEnv), os.Getenv(helperBaseEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runHelper(mode, path, base string) error {
	s, err := Open(path, Options{SweepInterval: 10 * time.Millisecond})
	if err != nil {
		return err
	}
	defer s.Close()
	switch mode {
	case "hold":
		// Hold the file until the parent closes stdin or kills us.
		if _, err := fmt.Println("ready"); err != nil {
			return err
		}
		_, err := io.Copy(io.Discard, os.Stdin)
		return err
	case "write":
		n, err := strconv.ParseInt(base, 10, 64)
		if err != nil {
			return err
		}
		return writeUntilKilled(s, time.Unix(0, n))
	}
	return fmt.Errorf("unknown mode %q", mode)
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
	rec := testRecord(name, fmt.Sprint("user-", i%7), base, time.Hour)
	rec.Created = base.Add(time.Duration(i) * time.Millisecond)
	rec.LastSeen = base.Add(time.Duration(step) * time.Second)
	rec.Expires = rec.LastSeen.Add(rec.IdleTimeout)
	// Sizes from a few bytes to several pages, so that commits span pages
	// and overflow pages.
	rec.Data = bytes.Repeat([]byte{byte(i), byte(step), '.'}, (i*797+step*131)%6000+1)
	return rec
}

func writeUntilKilled(s *Store, base time.Time) error {
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
			case "delete":
				err = s.Delete(ctx, cur.Key, store.ReasonNone)
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

// startHelper starts the test binary as a child in mode, on the store file
// at path, with its stdout to read from.
func startHelper(t *testing.T, mode, path string, base time.Time) (*exec.Cmd, *bufio.Scanner, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(),
		helperEnv+"="+mode, helperPathEnv+"="+path, helperBaseEnv+"="+strconv.FormatInt(base.UnixNano(), 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Whatever happened, no child outlives the test.
		if cmd.ProcessState == nil {
			if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Errorf("kill helper: %v", err)
			}
			if err := cmd.Wait(); err != nil {
				t.Logf("helper: %v", err)
			}
		}
		if stderr.Len() > 0 {
			t.Logf("helper stderr:\n%s", stderr.String())
		}
	})
	return cmd, bufio.NewScanner(stdout), stdin
}

// TestCrashSafety kills a process with SIGKILL while it writes sessions as
// fast as it can, then checks that every session it reported committed is
// in the file, exactly as written, and that the file is consistent: bbolt's
// page check passes and the records, indexes and tombstones agree. bbolt
// commits by writing the new pages, syncing, and then switching one of two
// meta pages, so a write cut short is invisible rather than half-applied.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := tempPath(t)
	base := time.Now()
	cmd, lines, _ := startHelper(t, "write", path, base)

	const wanted = 300 // sessions reported created before the kill
	done := map[int][]string{}
	created, last := 0, -1
	read := func(line string) {
		op, num, ok := strings.Cut(line, " ")
		i, err := strconv.Atoi(num)
		if !ok || err != nil || !slices.Contains([]string{"create", "update", "rotate", "delete"}, op) {
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
	// Lines written before the kill are committed too.
	for lines.Scan() {
		read(lines.Text())
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper was not killed by SIGKILL: %v", err)
	}
	t.Logf("killed the writer after %d sessions were reported (%d steps in all)", last+1, countSteps(done))

	s := openAt(t, path, Options{SweepInterval: -1})
	ctx := t.Context()
	listed := map[string][]string{} // user -> keys that must be listed
	inflight := map[string]bool{}   // keys of the session being written at the kill
	for i := 0; i <= last+1; i++ {
		ops := done[i]
		if i >= last {
			// The last session's next step, or the next session's create
			// when the last one was complete, may have been committed but
			// not reported: check only that whatever is there reads cleanly.
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
		for step, op := range ops[1:] {
			switch op {
			case "update":
				cur, version = crashRecord(i, step+1, false, base), 2
			case "rotate":
				cur, version, renewed = crashRecord(i, step+1, true, base), 1, true
			case "delete":
				alive = false
			}
		}
		if renewed {
			if _, err := s.Get(ctx, first.Key); !errors.Is(err, store.ErrGone) {
				t.Errorf("session %d: renewed-away key: Get err = %v, want ErrGone", i, err)
			}
		}
		got, err := s.Get(ctx, cur.Key)
		if !alive {
			if !errors.Is(err, store.ErrGone) {
				t.Errorf("session %d: deleted key: Get err = %v, want ErrGone", i, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("session %d (%v): committed, but Get after the crash: %v", i, ops, err)
			continue
		}
		want := cur.Clone()
		want.Version = version
		if d := diff(got, want); d != "" {
			t.Errorf("session %d (%v): record differs after the crash", i, ops)
		}
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
			if r.UserID != user {
				t.Errorf("ListUser(%s) returned a record of %s", user, r.UserID)
			}
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
	n := checkFile(t, s.db)
	t.Logf("file after the crash: %+v", n)
}

func countSteps(done map[int][]string) int {
	n := 0
	for _, ops := range done {
		n += len(ops)
	}
	return n
}

// TestLockedByOtherProcess checks the lock against a real second process:
// while it holds the file, Open fails with ErrLocked after LockTimeout; once
// it is killed (no clean Close), the kernel drops its lock and Open works.
func TestLockedByOtherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := tempPath(t)
	cmd, lines, _ := startHelper(t, "hold", path, time.Now())
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("helper did not get ready: %q %v", lines.Text(), lines.Err())
	}
	start := time.Now()
	s, err := Open(path, Options{LockTimeout: 200 * time.Millisecond})
	if err == nil {
		s.Close()
		t.Fatal("Open of a file another process holds succeeded")
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("err = %v, want ErrLocked", err)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Errorf("Open took %v to give up", waited)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Error("helper exited cleanly, want killed")
	}
	s = openAt(t, path, Options{LockTimeout: 2 * time.Second})
	checkFile(t, s.db)
}
