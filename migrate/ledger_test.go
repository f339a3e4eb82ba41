package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/migrate"
	"github.com/sessionguard/sessionguard/store/memstore"
)

func key(i int) string { return fmt.Sprintf("%064x", i) }

func TestLedgers(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	for name, l := range map[string]migrate.Ledger{
		"memory": migrate.NewMemoryLedger(0),
		"store":  migrate.StoreLedger(st),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			until := time.Now().Add(time.Hour)
			// Of concurrent claims of one key, exactly one wins.
			var wins atomic.Int32
			var wg sync.WaitGroup
			for range 32 {
				wg.Go(func() {
					ok, err := l.Claim(ctx, key(1), until)
					if err != nil {
						t.Error(err)
					}
					if ok {
						wins.Add(1)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d concurrent claims won, want 1", wins.Load())
			}
			if ok, err := l.Claim(ctx, key(2), until); !ok || err != nil {
				t.Fatalf("another key: %v, %v", ok, err)
			}
			// An expired claim may be made again.
			if ok, err := l.Claim(ctx, key(3), time.Now().Add(50*time.Millisecond)); !ok || err != nil {
				t.Fatalf("short claim: %v, %v", ok, err)
			}
			time.Sleep(60 * time.Millisecond)
			if ok, err := l.Claim(ctx, key(3), until); !ok || err != nil {
				t.Fatalf("claim after expiry: %v, %v", ok, err)
			}
		})
	}
}

func TestMemoryLedgerBound(t *testing.T) {
	ctx := context.Background()
	l := migrate.NewMemoryLedger(2)
	for i, tc := range []struct {
		until time.Time
		want  error
	}{
		{time.Now().Add(30 * time.Millisecond), nil},
		{time.Now().Add(time.Hour), nil},
		{time.Now().Add(time.Hour), migrate.ErrLedgerFull}, // full: refuse, never forget a live claim
	} {
		if _, err := l.Claim(ctx, key(i), tc.until); !errors.Is(err, tc.want) {
			t.Fatalf("claim %d: %v, want %v", i, err, tc.want)
		}
	}
	if ok, _ := l.Claim(ctx, key(1), time.Now().Add(time.Hour)); ok {
		t.Fatal("a live claim was forgotten")
	}
	time.Sleep(40 * time.Millisecond) // the first claim expires and makes room
	if ok, err := l.Claim(ctx, key(9), time.Now().Add(time.Hour)); !ok || err != nil {
		t.Fatalf("claim after an expiry: %v, %v", ok, err)
	}
}

// noSource finds nothing; New only checks that a Source is there.
type noSource struct{}

func (noSource) Find(*http.Request, *http.Cookie) (migrate.Legacy, bool, error) {
	return migrate.Legacy{}, false, nil
}
func (noSource) Destroy(*http.Request, *http.Cookie) error { return nil }

func TestNewRequires(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  migrate.Config
	}{
		{"no source", migrate.Config{CookieName: "s", Cutoff: time.Now()}},
		{"no cookie name", migrate.Config{Source: noSource{}, Cutoff: time.Now()}},
		{"no cut-off", migrate.Config{Source: noSource{}, CookieName: "s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := migrate.New(tc.cfg); !errors.Is(err, migrate.ErrConfig) {
				t.Fatalf("New: %v, want ErrConfig", err)
			}
		})
	}
}
