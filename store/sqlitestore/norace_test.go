//go:build !race

package sqlitestore_test

// raceDetector is set when the tests run under the race detector.
const raceDetector = false
