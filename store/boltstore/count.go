package boltstore

import (
	"context"
	"fmt"

	"github.com/sessionguard/sessionguard/store"
)

var _ store.Counter = (*Store)(nil)

// Count implements [store.Counter]: the records whose Expires is still
// ahead, counted from the expiry index in one read transaction without
// decoding a record (a key scan of the live part of the index, so its cost
// grows with the number of live sessions, not with expired ones not yet
// swept). Forwarders left by a periodic rotation count as records.
func (s *Store) Count(ctx context.Context) (int, error) {
	n := 0
	err := s.view(ctx, func(t *txn) error {
		c := t.expiry.Cursor()
		// Live means now < Expires: the entries whose stamp is above now.
		for k, _ := c.Seek(appendStamp(nil, t.now+1)); k != nil; k, _ = c.Next() {
			n++
			if n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("boltstore: count: %w", err)
	}
	return n, nil
}
