package sessiontest_test

import (
	"os/exec"
	"strings"
	"testing"
)

// sessiontest lives in the core module: it imports the standard library,
// session and store/memstore only, so a test that uses it adds no module.
func TestStandardLibraryOnly(t *testing.T) {
	const mod = "github.com/sessionguard/sessionguard/"
	own := map[string]bool{mod + "session": true, mod + "store": true, mod + "store/memstore": true,
		mod + "internal/wire": true, mod + "session/sessiontest": true}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", mod+"session/sessiontest").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if !own[dep] {
			t.Errorf("sessiontest depends on %s, which is neither the standard library nor the core", dep)
		}
	}
}
