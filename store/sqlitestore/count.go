package sqlitestore

import (
	"context"
	"fmt"

	"github.com/sessionguard/sessionguard/store"
)

var _ store.Counter = (*Store)(nil)

const sqlCount = `SELECT count(*) FROM sessionguard_sessions WHERE gone IS NULL AND expires > ?`

// Count implements [store.Counter]: the live records (not tombstones, not
// expired rows the sweeper has not reached), in one statement on a reader
// connection over the index on expires. Its cost grows with the number of
// live sessions; at a scrape interval that is cheap. Forwarders left by a
// periodic rotation count as records.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := s.check(ctx, nil); err != nil {
		return 0, fmt.Errorf("sqlitestore: count: %w", err)
	}
	var n int64
	if err := s.reader.QueryRowContext(ctx, sqlCount, s.now()).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlitestore: count: %w", err)
	}
	return int(n), nil
}
