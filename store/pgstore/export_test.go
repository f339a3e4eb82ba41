package pgstore

// SetSweepBatch sets how many rows one sweep statement deletes, so that
// tests can check batching without thousands of rows.
func (s *Store) SetSweepBatch(n int) { s.batch = n }

// PerUserStatements are the statements that look at one user's rows, with
// the index of the parameters that hold the user and the time.
var PerUserStatements = map[string][2]int{
	"ListUser":       {1, 2},
	"CreateCounting": {2, 8},
	"RotateCounting": {4, 11},
}

// PerUserSQL returns the statement named in PerUserStatements.
func PerUserSQL(name string) string {
	return map[string]string{"ListUser": sqlListUser, "CreateCounting": sqlCreateCounting, "RotateCounting": sqlRotateCounting}[name]
}

// LockClass is the first key of the per-user advisory locks.
const LockClass = lockClass
