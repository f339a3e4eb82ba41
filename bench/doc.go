// Package bench compares the per-request cost of sessionguard with
// github.com/alexedwards/scs/v2 and github.com/gorilla/sessions, doing the
// same handler work on the same requests in one `go test -bench` run:
//
//	BenchmarkMiddleware/<case>/<lib>
//
// cases: bare (no session library), read (a signed-in request reads one
// value), write (it reads and updates one value), login (a fresh request
// signs in, the same user each time, so that sessionguard is soon at its
// bound of 100 sessions per user); libs: sessionguard (memstore), scs (its
// memstore), gorilla (its CookieStore, the usual choice and gorilla's only
// built-in store that keeps no files).
//
// BenchmarkRedis/<case>/<lib> runs against a local redis-server with
// sessionguard's redisstore, scs's redisstore (redigo) and scs's
// goredisstore (go-redis, the client sessionguard uses), and reports Redis
// commands per request (cmds/op) from INFO commandstats. Besides read,
// write and login it has login-new-user (a fresh request signs in a new
// user: within the bound) and login-anon (a new user signs in from an
// anonymous session made beforehand, the request session fixation is
// about). BenchmarkPostgres/<case>/<lib> runs the same cases on one
// PostgreSQL server with sessionguard's pgstore and scs's postgresstore.
// BenchmarkBoltParallelWrite/<lib> measures durable writes per second of 32
// concurrent writers on bbolt.
//
// BenchmarkMemory/<case>, BenchmarkBolt/<case> and BenchmarkSQLite/<case>
// run login-new-user, login-anon and login with sessionguard alone on
// memstore, boltstore and sqlitestore, the bbolt and SQLite files on a
// disk. The manager and the store share one clock, which login moves on by
// more than store.SignInMargin before each request, as when a user signs
// in again later; the user is at the bound before the timed loop, so that
// each timed sign-in ends her least recently used session. Compare login
// with login-new-user of the same run.
//
// It is its own module, so that the libraries it compares never become
// dependencies of sessionguard's users. Run it with `make bench`, which also
// regenerates docs/BENCHMARKS.md.
package bench
