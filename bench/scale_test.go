package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/boltstore"
	"github.com/sessionguard/sessionguard/store/memstore"
	"github.com/sessionguard/sessionguard/store/redisstore"
)

// record returns a signed-in record as the manager would store it, with
// data bytes of values.
func record(user string, data []byte) *store.Record {
	var k [32]byte
	rand.Read(k[:])
	now := time.Now()
	return &store.Record{
		Key: hex.EncodeToString(k[:]), UserID: user, Created: now, LastSeen: now, AuthTime: now,
		IdleTimeout: 30 * time.Minute, Deadline: now.Add(12 * time.Hour), Expires: now.Add(30 * time.Minute),
		IP: "192.0.2.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) bench", Data: data,
	}
}

// BenchmarkScaleValues measures the read case with 1, 10 and 100 values in
// the session: decoding cost grows with the session's size.
func BenchmarkScaleValues(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run("values="+strconv.Itoa(n), func(b *testing.B) {
			st := memstore.New(memstore.Options{})
			defer st.Close()
			l := sessionguardLib(b, st)
			m, _ := session.New(st, session.Config{OnEvent: func(session.Event) {}})
			setup := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := session.From(r)
				s.Login("alice")
				s.Put("user", "alice")
				for i := 1; i < n; i++ {
					s.Put("key"+strconv.Itoa(i), strings.Repeat("v", 20))
				}
			}))
			rec := httptest.NewRecorder()
			setup.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
			run(b, l, "read", sessionCookie(b, rec, session.DefaultCookieName))
		})
	}
}

// BenchmarkScaleSessions measures the read case with 10^3, 10^5 and 10^6
// other live sessions in the memory store, and reports the store's memory
// per live session (bytes of Go heap per session, measured after a GC).
func BenchmarkScaleSessions(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run("sessions="+strconv.Itoa(n), func(b *testing.B) {
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			st := memstore.New(memstore.Options{SweepInterval: time.Hour})
			defer st.Close()
			data := []byte("V\x01\x04user\x01\x05alice")
			ctx := context.Background()
			for i := range n {
				if err := st.Create(ctx, record("user"+strconv.Itoa(i%(n/10+1)), data)); err != nil {
					b.Fatal(err)
				}
			}
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			perSession := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
			l := sessionguardLib(b, st)
			run(b, l, "read", l.cookie(b))
			b.ReportMetric(perSession, "heapB/session")
		})
	}
}

// BenchmarkRedisMemory reports Redis's memory per live session
// (used_memory growth over 100,000 sessions, each with its user index
// entry).
func BenchmarkRedisMemory(b *testing.B) {
	srv := redistest.Start(b)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer client.Close()
	st := redisstore.New(client, redisstore.Options{})
	ctx := context.Background()
	used := func() float64 {
		info, err := client.Info(ctx, "memory").Result()
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		b.Fatal("no used_memory")
		return 0
	}
	const n = 100_000
	before := used()
	data := []byte("V\x01\x04user\x01\x05alice")
	pipe := make(chan struct{}, 16)
	errs := make(chan error, n)
	for i := range n {
		pipe <- struct{}{}
		go func() {
			defer func() { <-pipe }()
			errs <- st.Create(ctx, record("user"+strconv.Itoa(i%10_000), data))
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	per := (used() - before) / n
	for b.Loop() {
	}
	b.ReportMetric(per, "redisB/session")
}

// BenchmarkBoltCreate measures the bolt store's write throughput: one
// durable (fsync'd) transaction per new session, with 4 writers.
func BenchmarkBoltCreate(b *testing.B) {
	st, err := boltstore.Open(filepath.Join(b.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	data := []byte("V\x01\x04user\x01\x05alice")
	ctx := context.Background()
	b.SetParallelism(2) // 2 × GOMAXPROCS writers
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := st.Create(ctx, record("alice", data)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sessions/s")
}
