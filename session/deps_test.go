package session_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The core package, the store contract and the memory store import only
// the standard library (and each other), so that depending on
// sessionguard brings no third-party code.
func TestStandardLibraryOnly(t *testing.T) {
	const mod = "github.com/sessionguard/sessionguard/"
	own := map[string]bool{mod + "session": true, mod + "store": true, mod + "store/memstore": true, mod + "internal/wire": true}
	for _, pkg := range []string{mod + "session", mod + "store", mod + "store/memstore"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if !own[dep] {
				t.Errorf("%s depends on %s, which is not in the standard library", pkg, dep)
			}
		}
	}
}
