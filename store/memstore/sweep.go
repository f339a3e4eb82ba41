package memstore

import "time"

// sweepEvery runs sweep every interval until Close. Without it, expired
// records and tombstones would stay in memory for good: reads hide them but
// never remove them, since reads hold only the read lock.
func (s *Store) sweepEvery(interval time.Duration) {
	defer close(s.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			s.sweep(s.now())
		}
	}
}

// sweep removes the records and tombstones that are past their time at
// now. It holds the write lock for one pass over everything, which is
// fine at the sizes this store is meant for (tests and development).
func (s *Store) sweep(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return
	}
	for key, rec := range s.records {
		if expired(rec, now) {
			s.unindex(rec)
			delete(s.records, key)
		}
	}
	for key, t := range s.tombstones {
		if !now.Before(t.until) {
			delete(s.tombstones, key)
		}
	}
	for user := range s.marks {
		if _, ok := s.liveMark(user, now); !ok {
			delete(s.marks, user)
		}
	}
}
