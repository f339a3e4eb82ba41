package app

import (
	"os"
	"strings"
	"testing"
)

// TestMain makes password hashes cheap for this package's tests: at the
// real cost, a hash takes half a second under the race detector, and the
// tests sign in hundreds of times. TestPasswordHashCost checks the real one.
func TestMain(m *testing.M) {
	UseTestHashCost()
	os.Exit(m.Run())
}

func TestPasswordHashCost(t *testing.T) {
	if owaspCost != (argonCost{time: 2, memory: 19 * 1024, threads: 1}) {
		t.Fatalf("argon2id cost %+v is below OWASP's minimum (19 MiB, 2 passes, 1 lane)", owaspCost)
	}
	h := hashWith(owaspCost, "correct horse")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	// A hash is checked with the cost it records, whatever new hashes cost.
	if !checkPassword(h, "correct horse") || checkPassword(h, "correct horse ") {
		t.Fatal("checkPassword")
	}
}
