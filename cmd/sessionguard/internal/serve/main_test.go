package serve

import (
	"os"
	"testing"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/app"
)

// TestMain makes password hashes cheap for this package's tests, which
// sign in many times (see app.UseTestHashCost).
func TestMain(m *testing.M) {
	app.UseTestHashCost()
	os.Exit(m.Run())
}
