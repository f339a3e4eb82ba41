// Package bench compares the per-request cost of sessionguard with
// github.com/alexedwards/scs/v2 and github.com/gorilla/sessions, doing the
// same handler work on the same requests in one `go test -bench` run:
//
//	BenchmarkMiddleware/<case>/<lib>
//
// cases: bare (no session library), read (a signed-in request reads one
// value), write (it reads and updates one value), login (a fresh request
// signs in); libs: sessionguard (memstore), scs (its memstore), gorilla (its
// CookieStore, the usual choice and gorilla's only built-in store that keeps
// no files). BenchmarkRedis/<case>/<lib> runs read, write and login against a
// local redis-server with sessionguard's redisstore and scs's redisstore, and
// reports Redis commands per request (cmds/op) from INFO commandstats.
//
// It is its own module, so that the libraries it compares never become
// dependencies of sessionguard's users. Run it with `make bench`, which also
// regenerates docs/BENCHMARKS.md.
package bench
