package pgstore

// SetSweepBatch sets how many rows one sweep statement deletes, so that
// tests can check batching without thousands of rows.
func (s *Store) SetSweepBatch(n int) { s.batch = n }

// PerUserStatements are the statements that look at one user's rows, with
// the index of the parameters that hold the user and the time.
var PerUserStatements = map[string][2]int{
	"ListUser": {1, 2},
}

// PerUserSQL returns the statement named in PerUserStatements.
func PerUserSQL(name string) string {
	return map[string]string{"ListUser": sqlListUser}[name]
}

// The two reads of the sign-in's bound, as sessionguard_signin runs them
// (through sessionguard_lineage_count and sessionguard_least_used): $1 the
// user, $2 (the second) the request's start.
const (
	SQLLineageCount = sqlLineageCount
	SQLLeastUsed    = sqlLeastUsed
)

// LockClass is the first key of the per-user advisory locks.
const LockClass = lockClass
