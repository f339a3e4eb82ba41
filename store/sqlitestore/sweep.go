package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// Sweep deletes the records past their Expires, the tombstones past
// their end and the revocation marks older than [store.MarkTTL], found through the index on expires, in transactions of at
// most a thousand rows, so it costs what it removes, not the size of the
// file, and never holds the write lock for long. It returns how many rows
// it deleted; ctx is checked between transactions.
//
// The background sweeper calls Sweep every Options.SweepInterval; call it
// yourself when the sweeper is off. Deleted rows leave free pages that
// later writes reuse; SQLite does not shrink the file (VACUUM does).
func (s *Store) Sweep(ctx context.Context) (int, error) {
	if err := s.check(ctx, nil); err != nil {
		return 0, fmt.Errorf("sqlitestore: sweep: %w", err)
	}
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("sqlitestore: sweep: %w", err)
		}
		res, err := s.writer.ExecContext(ctx, sqlSweep, s.now(), s.batch)
		if err != nil {
			return total, fmt.Errorf("sqlitestore: sweep: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("sqlitestore: sweep: %w", err)
		}
		total += int(n)
		if int(n) < s.batch {
			res, err := s.writer.ExecContext(ctx, sqlSweepMarks, s.now()-int64(store.MarkTTL))
			if err != nil {
				return total, fmt.Errorf("sqlitestore: sweep marks: %w", err)
			}
			n, err := res.RowsAffected()
			return total + int(n), err
		}
	}
}

// sweepLoop is the background sweeper: a sweep at once, then one every
// interval, until Close cancels ctx.
func (s *Store) sweepLoop(ctx context.Context, interval time.Duration) {
	defer close(s.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.opts.Logger.Error("sqlitestore: sweep failed", "path", s.path, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
