package audit

import (
	"os"
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
// package auditbrowser, a module of its own; the auditor's module does not
// even require it, so a Go user of the auditor never gets it, nor any
// module of the session library.
func TestNoBrowserDependency(t *testing.T) {
	cmd := exec.Command("go", "list", "-m", "all")
	cmd.Env = append(os.Environ(), "GOWORK=off") // this module alone, as a user gets it
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -m all: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "golang.org/x/net") {
		t.Fatalf("go list -m all output looks wrong (no golang.org/x/net):\n%s", out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		mod, _, _ := strings.Cut(line, " ")
		switch {
		case strings.HasPrefix(mod, "github.com/chromedp/"):
			t.Errorf("the audit module requires %s; only auditbrowser and the command may", mod)
		case strings.HasPrefix(mod, "github.com/sessionguard/") && mod != "github.com/sessionguard/sessionguard/audit":
			t.Errorf("the audit module requires %s; it must stay black-box", mod)
		}
	}
	// The check can fail: auditbrowser itself does link chromedp.
	cmd = exec.Command("go", "list", "-deps", ".")
	cmd.Dir = "auditbrowser"
	out, err = cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "github.com/chromedp/chromedp") {
		t.Errorf("go list -deps in auditbrowser does not show chromedp (%v); the test above would not notice it either", err)
	}
}
