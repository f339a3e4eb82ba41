package pgstore

import (
	"context"
	"fmt"
	"time"
)

// Sweep deletes the records past their Expires and the tombstones past
// their end, with the lineages of the expired records that have no live
// record left, in statements of at most a thousand rows each, found through
// the index on expires, so it costs what it removes, not the size of the
// table, and never holds many row locks for long. Rows another transaction
// has locked are skipped, to be swept next time. It returns how many rows
// it deleted; ctx is checked between statements. Last, it deletes the
// revocation marks older than [store.MarkTTL], in one statement over the
// marks table (one row per user revoked within the hour, or since the
// last sweep).
//
// The background sweeper calls Sweep every Options.SweepInterval. Several
// instances may sweep at once: they skip each other's rows.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("pgstore: sweep: %w", err)
		}
		var n int
		if err := s.pool.QueryRow(ctx, sqlSweep, s.now(), s.batch).Scan(&n); err != nil {
			return total, fmt.Errorf("pgstore: sweep: %w", err)
		}
		total += n
		if n < s.batch {
			if _, err := s.pool.Exec(ctx, sqlSweepMarks); err != nil {
				return total, fmt.Errorf("pgstore: sweep marks: %w", err)
			}
			return total, nil
		}
	}
}

// sweepLoop is the background sweeper: a sweep every interval, the first
// one interval after New (the table may not exist before CreateTable),
// until Close cancels ctx.
func (s *Store) sweepLoop(ctx context.Context, interval time.Duration) {
	defer close(s.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.opts.Logger.Error("pgstore: sweep failed", "err", err)
		}
	}
}
