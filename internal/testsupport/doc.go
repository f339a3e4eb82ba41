// Package testsupport is the root of the test-support module of
// sessionguard: helpers for the tests of the repository's other modules,
// kept out of the core module and out of the stores' own code.
//
//   - managerflow runs the session manager end to end on a store.
//   - pgtest starts private PostgreSQL servers.
//   - redistest starts redis-server processes and Redis Clusters.
//
// Every package here is under internal/: only the repository's modules can
// import them, and they are not an API.
package testsupport
