package session_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The core package and the memory store import only the standard library,
// so that depending on sessionguard brings no third-party code.
func TestStandardLibraryOnly(t *testing.T) {
	for _, pkg := range []string{"github.com/sessionguard/sessionguard/session", "github.com/sessionguard/sessionguard/store/memstore"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if !strings.HasPrefix(dep, "github.com/sessionguard/sessionguard/session") &&
				!strings.HasPrefix(dep, "github.com/sessionguard/sessionguard/store/memstore") {
				t.Errorf("%s depends on %s, which is not in the standard library", pkg, dep)
			}
		}
	}
}
