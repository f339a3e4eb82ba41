package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/sessionguard/sessionguard/store"
)

// sweepBatch bounds the entries one sweep transaction removes, so that a
// large backlog (after a long downtime) does not hold the writer lock, or
// grow one transaction, without limit.
const sweepBatch = 1000

// Sweep removes the records past their Expires, with their index entries,
// and the tombstones past their end. It reads the expiry indexes from the
// oldest entry and stops at the first one still in force, so it costs what
// it removes, not the size of the store. It returns how many records and
// tombstones it removed. ctx is checked between transactions.
//
// The background sweeper calls Sweep every Options.SweepInterval; call it
// yourself when the sweeper is turned off. A record or tombstone that fails
// to decode is left in place (the Manager keeps failing closed on it) and
// reported once, as an error wrapping [store.ErrCorrupt], after the rest
// of the sweep is done.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	total, corrupt := 0, 0
	for {
		n, bad, more, err := s.sweepOnce(ctx)
		total += n
		corrupt += bad
		if err != nil {
			return total, fmt.Errorf("boltstore: sweep: %w", err)
		}
		if !more {
			break
		}
	}
	if corrupt > 0 {
		return total, fmt.Errorf("boltstore: sweep: %w: %d expired records or tombstones could not be decoded and were left in place",
			store.ErrCorrupt, corrupt)
	}
	return total, nil
}

// sweepOnce runs one transaction of at most s.batch index entries. more
// reports that the batch was full, so more may be due.
func (s *Store) sweepOnce(ctx context.Context) (removed, corrupt int, more bool, err error) {
	err = s.update(ctx, func(t *txn) error {
		// A group that fails is run again (see group.go): count afresh.
		removed, corrupt, more = 0, 0, false
		due := t.dueEntries(s.batch)
		n := len(due.records) + len(due.tombstones)
		marks, err := t.sweepMarks(s.batch - n)
		if err != nil {
			return err
		}
		if n+marks == 0 {
			return errNoChange
		}
		removed += marks
		more = n+marks >= s.batch
		for _, k := range due.records {
			if len(k) < stampSize {
				// Not written by this package; drop it.
				if err := t.expiry.Delete(k); err != nil {
					return fmt.Errorf("unindex expiry: %w", err)
				}
				continue
			}
			key := string(k[stampSize:])
			rec, err := t.record(key)
			switch {
			case errors.Is(err, store.ErrCorrupt):
				corrupt++
			case err != nil:
				return err
			case rec != nil && stamp(rec.Expires) == readStamp(k):
				if err := t.removeRecord(rec); err != nil {
					return err
				}
				removed++
				continue // removeRecord dropped the index entry too
			}
			// A stale entry: the record is gone, undecodable, or was
			// updated to a later Expires and indexed again.
			if err := t.expiry.Delete(k); err != nil {
				return fmt.Errorf("unindex expiry: %w", err)
			}
		}
		for _, k := range due.tombstones {
			if len(k) < stampSize {
				if err := t.tombExpiry.Delete(k); err != nil {
					return fmt.Errorf("unindex tombstone: %w", err)
				}
				continue
			}
			key := string(k[stampSize:])
			tb, ok, err := t.tombstone(key)
			switch {
			case errors.Is(err, store.ErrCorrupt):
				// Left in place: a tombstone that cannot be read still keeps
				// its key dead.
				corrupt++
			case err != nil:
				return err
			case ok && tb.end == readStamp(k):
				if err := t.removeTombstone(key, tb.end); err != nil {
					return err
				}
				removed++
				continue
			}
			// A stale entry: the tombstone was lengthened, or is gone.
			if err := t.tombExpiry.Delete(k); err != nil {
				return fmt.Errorf("unindex tombstone: %w", err)
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errNoChange):
		return 0, 0, false, nil
	case err != nil:
		return 0, 0, false, err // rolled back: nothing was removed
	}
	return removed, corrupt, more, nil
}

// dueEntries are the expiry index entries that have come due, copied out of
// the transaction's memory so that deleting them does not disturb the scan.
type dueEntries struct{ records, tombstones [][]byte }

// dueEntries collects up to n due entries, records first.
func (t *txn) dueEntries(n int) dueEntries {
	var d dueEntries
	limit := appendStamp(nil, t.now)
	collect := func(c *bbolt.Cursor, room int) [][]byte {
		var due [][]byte
		for k, _ := c.First(); k != nil && len(due) < room; k, _ = c.Next() {
			if len(k) >= stampSize && bytes.Compare(k[:stampSize], limit) > 0 {
				break // entries are in time order: the rest are in force
			}
			due = append(due, bytes.Clone(k))
		}
		return due
	}
	d.records = collect(t.expiry.Cursor(), n)
	d.tombstones = collect(t.tombExpiry.Cursor(), n-len(d.records))
	return d
}

// sweepLoop is the background sweeper: a sweep at once, then one every
// interval, until Close cancels ctx.
func (s *Store) sweepLoop(ctx context.Context, interval time.Duration) {
	defer close(s.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.opts.Logger.Error("boltstore: sweep failed", "path", s.path, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sweepMarks removes up to n revocation marks older than store.MarkTTL and
// returns how many. The marks bucket holds one entry per user revoked in
// the last MarkTTL and sweep interval, so it is read whole.
func (t *txn) sweepMarks(n int) (int, error) {
	var due [][]byte
	c := t.marks.Cursor()
	for k, v := c.First(); k != nil && len(due) < n; k, v = c.Next() {
		// A mark that does not decode is left: sign-ins of its user fail
		// closed (store.ErrCorrupt) rather than forget a revocation.
		if len(v) == markSize && !t.live(readStamp(v)+int64(store.MarkTTL)) {
			due = append(due, bytes.Clone(k))
		}
	}
	for _, k := range due {
		if err := t.marks.Delete(k); err != nil {
			return 0, fmt.Errorf("delete revocation mark: %w", err)
		}
	}
	return len(due), nil
}
