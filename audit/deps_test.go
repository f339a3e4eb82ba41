package audit

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBlackBox: the auditor works like an outside attacker. It must not
// import the session library or any store, so that it cannot lean on
// their internals and audits any application exactly as an outsider sees it.
func TestBlackBox(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/sessionguard/sessionguard/") && dep != "github.com/sessionguard/sessionguard/audit" {
			t.Errorf("audit imports %s; it must stay black-box", dep)
		}
	}
	if !strings.Contains(string(out), "golang.org/x/net/html") {
		t.Errorf("go list -deps output looks wrong (no golang.org/x/net/html):\n%s", out)
	}
}
