package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback/loopbacktest"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback"

	"github.com/sessionguard/sessionguard/internal/testsupport/pgtest"
	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
	"github.com/sessionguard/sessionguard/session"
)

// TestRevocationRacedByThief drives the reference app from outside, as an
// attacker would: periodic rotation every 5 ms with a 10 s grace window,
// a thief holding a session of the victim's account and sending 8
// requests at a time, and the victim pressing "Sign out all other
// sessions". Once that request has returned, no token the thief ever held
// may work, on any store (invariant I11). Until then, the thief — an honest
// client as far as rotation can tell — is never signed out by rotation.
func TestRevocationRacedByThief(t *testing.T) {
	stores := map[string]func(t *testing.T) string{
		"memory": func(*testing.T) string { return "memory" },
		"bolt":   func(t *testing.T) string { return "bolt:" + t.TempDir() + "/race.db" },
		"redis":  func(t *testing.T) string { return "redis://" + redistest.Start(t).Addr + "/0" },
		"sqlite": func(t *testing.T) string { return "sqlite:" + t.TempDir() + "/race.db" },
		"postgres": func(t *testing.T) string {
			return pgtest.Start(t, "fsync=off").URL("postgres")
		},
	}
	for name, spec := range stores {
		t.Run(name, func(t *testing.T) {
			store, closer, err := OpenStore(context.Background(), spec(t))
			if err != nil {
				t.Fatal(err)
			}
			defer closer.Close()
			accts, err := NewAccounts([]Account{{"alice", "alice-password"}})
			if err != nil {
				t.Fatal(err)
			}
			app, err := New(Config{Store: store, Accounts: accts, Session: session.Config{
				OnEvent:  func(session.Event) {},
				Rotation: session.RotationConfig{Every: 5 * time.Millisecond, Grace: 10 * time.Second},
			}})
			if err != nil {
				t.Fatal(err)
			}
			srv := startServer(t, app)
			for round := range 4 {
				raceRound(t, srv, round)
			}
		})
	}
}

func raceRound(t *testing.T, base string, round int) {
	ctx := context.Background()
	victim, thief := loopback.NewBrowser("victim"), loopback.NewBrowser("thief")
	loopbacktest.SignIn(t, victim, base, "alice", "alice-password")
	loopbacktest.SignIn(t, thief, base, "alice", "alice-password")
	var (
		mu       sync.Mutex
		held     = map[string]bool{thief.Cookie(session.DefaultCookieName): true}
		revoking atomic.Bool
		early    atomic.Int64 // requests that completed before the revocation and were signed out
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				before := !revoking.Load()
				res, err := thief.Do(ctx, "GET", base+"/dashboard", nil)
				if err != nil {
					t.Error(err)
					return
				}
				if before && !revoking.Load() && !strings.Contains(res.Body, "Welcome alice") {
					early.Add(1)
				}
				for _, c := range res.Set {
					if c.Name == session.DefaultCookieName && c.Value != "" {
						mu.Lock()
						held[c.Value] = true
						mu.Unlock()
					}
				}
			}
		})
	}
	time.Sleep(80 * time.Millisecond)
	revoking.Store(true)
	res := loopbacktest.Post(t, victim, base+"/sessions/revoke-others", nil)
	// The thief keeps trying for a moment after the victim's request came back.
	time.Sleep(30 * time.Millisecond)
	close(stop)
	wg.Wait()
	if !strings.Contains(res.Body, "Signed out") && !strings.Contains(res.URL, "/sessions") {
		t.Fatalf("round %d: revoke-others ended at %s", round, res.URL)
	}
	if n := early.Load(); n > 0 {
		t.Errorf("round %d: rotation signed the thief's client out %d times before any revocation", round, n)
	}
	mu.Lock()
	defer mu.Unlock()
	alive := 0
	for tok := range held {
		b := loopback.NewBrowser(fmt.Sprint("replay-", round))
		b.Plant(session.DefaultCookieName, tok)
		if strings.Contains(loopbacktest.Get(t, b, base+"/dashboard").Body, "Welcome alice") {
			alive++
		}
	}
	if alive > 0 {
		t.Errorf("round %d: %d of the %d tokens the thief held still work after the victim signed out all other sessions", round, alive, len(held))
	}
	if !strings.Contains(loopbacktest.Get(t, victim, base+"/dashboard").Body, "Welcome alice") {
		t.Errorf("round %d: the victim was signed out", round)
	}
	t.Logf("round %d: the thief held %d tokens; none works", round, len(held))
}

// startServer serves h on a loopback httptest server for the test.
func startServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
