//go:build race

package sqlitestore_test

// raceDetector is set when the tests run under the race detector, which
// makes SQLite (translated C, every memory access instrumented) about
// twenty times slower.
const raceDetector = true
