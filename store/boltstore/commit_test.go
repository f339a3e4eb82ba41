//go:build linux

package boltstore

import (
	"errors"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// failingDisk is the store's file, whose descriptor the test can point at
// /dev/full, where every write fails with ENOSPC (and fsync with EINVAL),
// as a full or failing disk answers: bbolt reads through its memory map
// and sees nothing, and its next commit fails.
type failingDisk struct {
	t    *testing.T
	file *os.File
	keep int // a duplicate of the file's own descriptor, to heal it
}

// open is Options.openFile: bbolt's os.OpenFile, remembering the file.
func (d *failingDisk) open(name string, flag int, perm fs.FileMode) (*os.File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err == nil {
		d.file = f
	}
	return f, err
}

func (d *failingDisk) fail() {
	d.t.Helper()
	keep, err := syscall.Dup(int(d.file.Fd()))
	if err != nil {
		d.t.Fatal(err)
	}
	d.keep = keep
	full, err := os.OpenFile("/dev/full", os.O_RDWR, 0)
	if err != nil {
		d.t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	if err := syscall.Dup3(int(full.Fd()), int(d.file.Fd()), 0); err != nil {
		d.t.Fatal(err)
	}
}

func (d *failingDisk) heal() {
	d.t.Helper()
	if err := syscall.Dup3(d.keep, int(d.file.Fd()), 0); err != nil {
		d.t.Fatal(err)
	}
	syscall.Close(d.keep)
}

// TestFailedCommitRefusesWritesUntilReopened: once a commit has failed,
// the store answers ErrCommitFailed to every write, even after the disk
// has recovered, since what reached the file is unknown; reads keep
// working; reopening the file makes it writable again.
func TestFailedCommitRefusesWritesUntilReopened(t *testing.T) {
	cases := []struct {
		name    string
		writers int // concurrent writes while the disk fails: 1, or enough to commit in groups
	}{
		{"a lone write", 1},
		{"writes committed in groups", 32},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tempPath(t)
			disk := &failingDisk{t: t}
			st := openAt(t, path, Options{SweepInterval: -1, openFile: disk.open})
			ctx := t.Context()
			kept := testRecord("kept", "alice", time.Now(), time.Hour)
			if err := st.Create(ctx, kept); err != nil {
				t.Fatal(err)
			}

			disk.fail()
			var wg sync.WaitGroup
			errs := make([]error, tc.writers)
			for i := range tc.writers {
				wg.Go(func() { errs[i] = st.Create(ctx, testRecord("lost"+string(rune('a'+i)), "bob", time.Now(), time.Hour)) })
			}
			wg.Wait()
			for i, err := range errs {
				if !errors.Is(err, ErrCommitFailed) {
					t.Errorf("write %d on the failing disk: %v, want ErrCommitFailed", i, err)
				}
			}
			disk.heal()
			if err := st.Create(ctx, testRecord("after", "carol", time.Now(), time.Hour)); !errors.Is(err, ErrCommitFailed) {
				t.Fatalf("write after the disk recovered: %v, want ErrCommitFailed until the store is reopened", err)
			}
			if err := st.Delete(ctx, kept.Key, 3); !errors.Is(err, ErrCommitFailed) {
				t.Fatalf("delete after the failure: %v, want ErrCommitFailed", err)
			}
			if _, err := st.Get(ctx, kept.Key); err != nil {
				t.Fatalf("read after the failure: %v", err)
			}

			if err := st.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			again := openAt(t, path, Options{SweepInterval: -1})
			if _, err := again.Get(ctx, kept.Key); err != nil {
				t.Fatalf("the record committed before the failure, after reopening: %v", err)
			}
			if err := again.Create(ctx, testRecord("reopened", "carol", time.Now(), time.Hour)); err != nil {
				t.Fatalf("write after reopening: %v", err)
			}
		})
	}
}
