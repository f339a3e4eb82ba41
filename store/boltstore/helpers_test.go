package boltstore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/sessionguard/sessionguard/store"
)

// clock is a settable Options.Now for tests that must not sleep.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// openAt opens the store at path and closes it when t ends (a second Close
// by the test itself is harmless).
func openAt(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
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

func tempPath(t *testing.T) string { return filepath.Join(t.TempDir(), "sessions.db") }

// testKey derives a store key (64 hex digits, like the Manager's) from a
// name, so tests can name their sessions.
func testKey(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// testRecord is a record of userID ("" for anonymous) that expires ttl
// after now.
func testRecord(name, userID string, now time.Time, ttl time.Duration) *store.Record {
	rec := &store.Record{
		Key: testKey(name), UserID: userID,
		Created: now.Add(-time.Minute), LastSeen: now, IdleTimeout: ttl, Deadline: now.Add(12 * time.Hour),
		IP: "192.0.2.10", UserAgent: "boltstore-test", Data: []byte("data of " + name),
	}
	if userID != "" {
		rec.AuthTime = now.Add(-time.Minute)
	}
	rec.Expires = rec.LastSeen.Add(ttl)
	if rec.Deadline.Before(rec.Expires) {
		rec.Expires = rec.Deadline
	}
	return rec
}

// fileCounts are the sizes of the store's buckets.
type fileCounts struct{ records, tombstones, users, expiry, tombExpiry int }

// checkFile fails t unless the file is a consistent bbolt database (bbolt's
// own tx.Check over every page) and the store's buckets agree: every record
// decodes under its own key and has exactly one expiry entry and, when
// signed in, one user entry; every index entry points at a record with
// those values; every tombstone is indexed by its end; no key is both a
// record and a tombstone. It returns the bucket sizes.
func checkFile(t *testing.T, db *bbolt.DB) fileCounts {
	t.Helper()
	var n fileCounts
	// A write transaction, rolled back, so that no writer (the sweeper)
	// runs beside it: tx.Check reads bbolt's free list unlocked.
	errRollback := errors.New("rollback")
	err := db.Update(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt tx.Check: %v", err)
		}
		s := &Store{opts: Options{Now: time.Now}}
		return s.run(tx, func(x *txn) error {
			wantExpiry := map[string]bool{}
			wantUsers := map[string]bool{}
			wantLineageKeys := map[string]bool{}
			lineages := map[string]bool{} // lineageKey entries the records imply
			err := x.records.ForEach(func(k, v []byte) error {
				n.records++
				var rec store.Record
				if err := rec.UnmarshalBinary(v); err != nil {
					t.Errorf("record %x: %v", k, err)
					return nil
				}
				if rec.Key != string(k) {
					t.Errorf("record under %s has Key %s", k, rec.Key)
				}
				if x.tombstones.Get(k) != nil {
					t.Errorf("key %.12s… is both a record and a tombstone", k)
				}
				wantExpiry[string(expiryKey(stamp(rec.Expires), rec.Key))] = true
				if rec.UserID != "" {
					wantUsers[string(userKey(rec.UserID, rec.Key))] = true
					wantLineageKeys[string(lineageRecordKey(rec.UserID, rec.LineageKey(), rec.Key))] = true
					lineages[string(lineageKey(rec.UserID, rec.LineageKey()))] = true
				}
				return nil
			})
			if err != nil {
				return err
			}
			checkIndex := func(name string, b *bbolt.Bucket, want map[string]bool, count *int) error {
				err := b.ForEach(func(k, v []byte) error {
					*count++
					if !want[string(k)] {
						t.Errorf("%s index: stray entry %x", name, k)
					}
					delete(want, string(k))
					if len(v) != 0 {
						t.Errorf("%s index: entry %x has a value", name, k)
					}
					return nil
				})
				for k := range want {
					t.Errorf("%s index: missing entry %x", name, k)
				}
				return err
			}
			if err := checkIndex("expiry", x.expiry, wantExpiry, &n.expiry); err != nil {
				return err
			}
			if err := checkIndex("user", x.users, wantUsers, &n.users); err != nil {
				return err
			}
			var lineageKeys int
			if err := checkIndex("lineage keys", x.lineageKeys, wantLineageKeys, &lineageKeys); err != nil {
				return err
			}
			checkLineages(t, x, lineages)
			wantTomb := map[string]bool{}
			err = x.tombstones.ForEach(func(k, v []byte) error {
				n.tombstones++
				if len(v) != tombstoneSize && len(v) != stampSize {
					t.Errorf("tombstone %.12s… has %d bytes", k, len(v))
					return nil
				}
				wantTomb[string(expiryKey(readStamp(v), string(k)))] = true
				return nil
			})
			if err != nil {
				return err
			}
			if err := checkIndex("tombstone expiry", x.tombExpiry, wantTomb, &n.tombExpiry); err != nil {
				return err
			}
			return errRollback
		})
	})
	if err != nil && !errors.Is(err, errRollback) {
		t.Fatalf("reading the file: %v", err)
	}
	return n
}

// rawPut writes v under key in bucket, bypassing the store, to plant
// corruption.
func rawPut(t *testing.T, db *bbolt.DB, bucket []byte, key, v []byte) {
	t.Helper()
	err := db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return fmt.Errorf("no bucket %q", bucket)
		}
		return b.Put(key, v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkLineages fails t unless the lineages bucket holds exactly the
// lineages of the stored records, each with one last-use entry at its
// stamp, and the last-use bucket nothing else.
func checkLineages(t *testing.T, x *txn, want map[string]bool) {
	t.Helper()
	wantUse := map[string]bool{}
	err := x.lineages.ForEach(func(k, v []byte) error {
		if !want[string(k)] {
			t.Errorf("lineages: stray entry %x", k)
		}
		delete(want, string(k))
		if len(v) != stampSize {
			t.Errorf("lineages: entry %x has %d bytes", k, len(v))
			return nil
		}
		// k is the user's prefix and the lineage: the use key puts the
		// stamp between them.
		user, lk := splitLineageKey(t, k)
		wantUse[string(useKey(user, readStamp(v), lk))] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range want {
		t.Errorf("lineages: missing entry %x", k)
	}
	err = x.lineageUse.ForEach(func(k, _ []byte) error {
		if !wantUse[string(k)] {
			t.Errorf("lineage use: stray entry %x", k)
		}
		delete(wantUse, string(k))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range wantUse {
		t.Errorf("lineage use: missing entry %x", k)
	}
}

// splitLineageKey reads back the user and lineage of a lineageKey.
func splitLineageKey(t *testing.T, k []byte) (user, lineage string) {
	t.Helper()
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) < n {
		t.Fatalf("lineages: malformed key %x", k)
	}
	return string(k[w : w+int(n)]), string(k[w+int(n):])
}
