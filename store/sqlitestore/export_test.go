package sqlitestore

// SetSweepBatch sets how many rows one sweep deletes, so that tests can
// check batching without thousands of rows.
func (s *Store) SetSweepBatch(n int) { s.batch = n }

// The sign-in's bound reads, for their query plans.
const (
	SQLLineages    = sqlLineages
	SQLLeastUsed   = sqlLeastUsed
	SQLLineageLive = sqlLineageLive
)
