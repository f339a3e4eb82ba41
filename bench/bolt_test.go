package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	scsbolt "github.com/alexedwards/scs/boltstore"
	"go.etcd.io/bbolt"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/boltstore"
)

// boltWriters is how many goroutines write at once in
// BenchmarkBoltParallelWrite.
const boltWriters = 32

// benchDir returns a directory on a disk for a bbolt file: the one
// SESSIONGUARD_BENCH_DIR names, or a fresh one inside the bench module (not
// the system temporary directory, which may be tmpfs, where a sync costs
// nothing and the figures mean nothing). It fails if the directory is on
// tmpfs.
func benchDir(tb testing.TB) string {
	tb.Helper()
	parent := os.Getenv("SESSIONGUARD_BENCH_DIR")
	if parent == "" {
		parent = "."
	}
	dir, err := os.MkdirTemp(parent, "boltbench-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if onTmpfs(dir) {
		tb.Fatalf("%s is on tmpfs: set SESSIONGUARD_BENCH_DIR to a directory on a disk", dir)
	}
	return dir
}

// benchRecord is a signed-in record as the Manager writes at sign-in.
func benchRecord(i int64, now time.Time) *store.Record {
	sum := sha256.Sum256(fmt.Appendf(nil, "bench token %d %d", now.UnixNano(), i))
	rec := &store.Record{
		Key: hex.EncodeToString(sum[:]), UserID: fmt.Sprint("user-", i%1000),
		Created: now, LastSeen: now, AuthTime: now, IdleTimeout: 30 * time.Minute, Deadline: now.Add(12 * time.Hour),
		IP: "192.0.2.1", UserAgent: "bench", Data: []byte("\x01\x04user\x05alice"),
	}
	rec.Expires = rec.LastSeen.Add(rec.IdleTimeout)
	return rec
}

// BenchmarkBoltParallelWrite has 32 goroutines each create sessions in the
// library's bbolt store as fast as it lets them, every write durable
// (committed and synced) when it returns. writes/s is the throughput of
// all of them together. sessionguard's boltstore commits the writes that
// arrive during a commit together, in one transaction and one sync; scs's
// boltstore commits each on its own.
func BenchmarkBoltParallelWrite(b *testing.B) {
	b.Run("sessionguard", func(b *testing.B) {
		st, err := boltstore.Open(filepath.Join(benchDir(b), "sessions.db"), boltstore.Options{SweepInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		now := time.Now()
		parallelWrites(b, func(i int64) error { return st.Create(b.Context(), benchRecord(i, now)) })
	})
	b.Run("scs", func(b *testing.B) {
		db, err := bbolt.Open(filepath.Join(benchDir(b), "sessions.db"), 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		st := scsbolt.NewWithCleanupInterval(db, 0)
		now := time.Now()
		parallelWrites(b, func(i int64) error {
			rec := benchRecord(i, now)
			return st.Commit(rec.Key, rec.Data, rec.Expires)
		})
	})
}

// parallelWrites runs b.N writes over boltWriters goroutines and reports
// writes/s.
func parallelWrites(b *testing.B, write func(i int64) error) {
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range boltWriters {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := write(i); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
}
