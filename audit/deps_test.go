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

// TestNoBrowserDependency: chromedp is linked only by the command and by
// package auditbrowser; a Go user of the session library, the stores or
// the auditor never gets it.
func TestNoBrowserDependency(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../session", "../store/...", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/sessionguard/sessionguard/session") {
		t.Fatalf("go list -deps output looks wrong (no session package):\n%s", out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/chromedp/") {
			t.Errorf("%s is linked by the session library, a store or the auditor; only auditbrowser and the command may link it", dep)
		}
	}
	// The check can fail: auditbrowser itself does link chromedp.
	out, err = exec.Command("go", "list", "-deps", "./auditbrowser").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "github.com/chromedp/chromedp") {
		t.Errorf("go list -deps ./auditbrowser does not show chromedp (%v); the test above would not notice it either", err)
	}
}
