package app

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback/loopbacktest"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback"

	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
	"github.com/sessionguard/sessionguard/session"
)

// soakDuration is how long each store is soaked: a few seconds in make
// test, SESSIONGUARD_SOAK (a duration, such as 3m) in make soak.
func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("SESSIONGUARD_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("SESSIONGUARD_SOAK=%q: %v", v, err)
		}
		return d
	}
	return 3 * time.Second
}

// TestSoak drives the reference app with parallel clients doing mixed
// traffic — sign in, read, write notes, sign out — on the bolt and the
// Redis store, and checks that no request fails, that no signed-out
// session ever comes back, that notes are never lost or mixed between
// clients, and that the server's goroutines and heap stay flat.
func TestSoak(t *testing.T) {
	stores := map[string]func(t *testing.T) string{
		"bolt": func(t *testing.T) string { return "bolt:" + t.TempDir() + "/soak.db" },
		"redis": func(t *testing.T) string {
			return "redis://" + redistest.Start(t).Addr + "/0"
		},
	}
	for name, spec := range stores {
		t.Run(name, func(t *testing.T) { soak(t, spec(t), soakDuration(t)) })
	}
}

func soak(t *testing.T, spec string, d time.Duration) {
	ctx := context.Background()
	store, closer, err := OpenStore(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	const clients = 8
	var list []Account
	for i := range clients {
		list = append(list, Account{fmt.Sprintf("user%d", i), "soak-password"})
	}
	accts, err := NewAccounts(list)
	if err != nil {
		t.Fatal(err)
	}
	var storeErrors atomic.Int64
	app, err := New(Config{Store: store, Accounts: accts, Session: session.Config{OnEvent: func(e session.Event) {
		if e.Kind == session.EventStoreError {
			storeErrors.Add(1)
		}
	}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	defer srv.Close()

	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	// A short warm-up, so that pools and caches are in place before the
	// baseline is taken.
	warm := loopback.NewBrowser("warm")
	loopbacktest.SignIn(t, warm, srv.URL, "user0", "soak-password")
	goroutines, heapStart := runtime.NumGoroutine(), heap()

	var requests, signIns, revived atomic.Int64
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("user%d", i)
			for round := 0; time.Now().Before(deadline); round++ {
				b := loopback.NewBrowser(user)
				res, err := b.Do(ctx, "POST", srv.URL+"/login", url.Values{"username": {user}, "password": {"soak-password"}})
				requests.Add(1)
				if err != nil || !strings.Contains(res.Body, "Welcome "+user) {
					fail("%s round %d: sign-in failed: %v %v", user, round, err, res)
					return
				}
				signIns.Add(1)
				for j := range 20 {
					if j%4 == 3 {
						note := fmt.Sprintf("%s-%d-%d", user, round, j)
						res, err = b.Do(ctx, "POST", srv.URL+"/dashboard/note", url.Values{"note": {note}})
						requests.Add(1)
						if err != nil || !strings.Contains(res.Body, `value="`+note+`"`) {
							fail("%s: note %s lost: %v", user, note, err)
							return
						}
						continue
					}
					res, err = b.Do(ctx, "GET", srv.URL+"/dashboard", nil)
					requests.Add(1)
					if err != nil || res.Status != 200 || !strings.Contains(res.Body, "Welcome "+user) {
						fail("%s: dashboard: %v %v", user, err, res)
						return
					}
				}
				token := b.Cookie(session.DefaultCookieName)
				if _, err := b.Do(ctx, "POST", srv.URL+"/logout", nil); err != nil {
					fail("%s: logout: %v", user, err)
					return
				}
				requests.Add(1)
				replay := loopback.NewBrowser("replay")
				replay.Plant(session.DefaultCookieName, token)
				res, err = replay.Do(ctx, "GET", srv.URL+"/dashboard", nil)
				requests.Add(1)
				if err != nil {
					fail("%s: replay: %v", user, err)
					return
				}
				if strings.Contains(res.Body, "Welcome") {
					revived.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	srv.CloseClientConnections()
	time.Sleep(100 * time.Millisecond) // let the server's connection goroutines end
	heapEnd, goroutinesEnd := heap(), runtime.NumGoroutine()
	t.Logf("%s for %v: %d requests, %d sign-ins, %d clients; heap %d KiB -> %d KiB; goroutines %d -> %d",
		spec[:strings.IndexByte(spec, ':')], d, requests.Load(), signIns.Load(), clients, heapStart>>10, heapEnd>>10, goroutines, goroutinesEnd)
	for _, f := range failures {
		t.Error(f)
	}
	if n := revived.Load(); n > 0 {
		t.Errorf("%d signed-out sessions came back", n)
	}
	if n := storeErrors.Load(); n > 0 {
		t.Errorf("%d store errors", n)
	}
	if signIns.Load() < clients {
		t.Errorf("only %d sign-ins in %v", signIns.Load(), d)
	}
	if goroutinesEnd > goroutines+5 {
		t.Errorf("goroutines grew from %d to %d", goroutines, goroutinesEnd)
	}
	// Flat memory: the live heap after the run may hold the store's
	// tombstones and caches, but not grow with the number of requests.
	if growth := int64(heapEnd) - int64(heapStart); growth > 64<<20 {
		t.Errorf("heap grew by %d MiB", growth>>20)
	}
}
