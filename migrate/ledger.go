package migrate

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// A Ledger remembers the legacy sessions already migrated, so that each is
// migrated once. Implementations must be safe for concurrent use.
type Ledger interface {
	// Claim records key, a hex-encoded SHA-256 hash (64 characters), until
	// until, and reports whether this call is the first claim of key still
	// held: of concurrent claims of one key, exactly one gets true. An error
	// means the claim could not be recorded; the legacy session is then not
	// migrated.
	Claim(ctx context.Context, key string, until time.Time) (bool, error)
}

// ErrLedgerFull is returned by a [MemoryLedger] that holds its maximum of
// unexpired claims: rather than forget one (which would let its legacy
// cookie be migrated again), it refuses new ones.
var ErrLedgerFull = errors.New("migrate: ledger full")

// DefaultLedgerSize is the number of claims a [NewMemoryLedger] of size 0
// holds.
const DefaultLedgerSize = 100_000

// A MemoryLedger is a [Ledger] in the memory of one process. Claims are
// only made for legacy sessions the legacy store held, so a flood of
// invented cookies does not fill it. Its zero value is not usable; make one
// with [NewMemoryLedger].
type MemoryLedger struct {
	mu     sync.Mutex
	max    int
	claims map[string]time.Time
	now    func() time.Time
}

// NewMemoryLedger returns a MemoryLedger holding at most size unexpired
// claims (DefaultLedgerSize when size is 0 or less; each takes about 100
// bytes).
func NewMemoryLedger(size int) *MemoryLedger {
	if size <= 0 {
		size = DefaultLedgerSize
	}
	return &MemoryLedger{max: size, claims: make(map[string]time.Time), now: time.Now}
}

// Claim implements [Ledger]. Expired claims are dropped when the ledger is
// full.
func (l *MemoryLedger) Claim(ctx context.Context, key string, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if u, ok := l.claims[key]; ok && now.Before(u) {
		return false, nil
	}
	if len(l.claims) >= l.max {
		for k, u := range l.claims {
			if !now.Before(u) {
				delete(l.claims, k)
			}
		}
		if len(l.claims) >= l.max {
			return false, ErrLedgerFull
		}
	}
	l.claims[key] = until
	return true, nil
}

// StoreLedger returns a [Ledger] that keeps claims in st, the store
// sessionguard's sessions live in, so that every instance sharing st
// shares the claims. A claim is a record with no user and no data under a
// key no session token can hash to (a hash of the legacy cookie's name and
// value), created with st.Create, which fails for a key already held; st
// forgets it at until, as any expired record.
func StoreLedger(st store.Store) Ledger { return storeLedger{st} }

type storeLedger struct{ st store.Store }

func (l storeLedger) Claim(ctx context.Context, key string, until time.Time) (bool, error) {
	now := time.Now()
	rec := &store.Record{Key: key, Created: now, LastSeen: now, IdleTimeout: until.Sub(now), Deadline: until, Expires: until}
	switch err := l.st.Create(ctx, rec); {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrExists):
		return false, nil
	default:
		return false, err
	}
}
