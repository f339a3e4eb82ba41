package audit

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestReferenceApp audits the project's reference application, secure
// and vulnerable, as an outside attacker would: it builds the sessionguard
// command and talks HTTP to "sessionguard serve" on loopback. (Importing
// the demo package instead would pull the session library into the
// auditor's tests.)
func TestReferenceApp(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the sessionguard command")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "sessionguard")
	build := exec.Command("go", "build", "-o", bin, "github.com/sessionguard/sessionguard/cmd/sessionguard")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building sessionguard: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		mode    string
		args    []string
		verdict Verdict
		exit    int
		want    map[string]Status
	}{
		{mode: "secure", verdict: VerdictNoFixationFound, exit: 0,
			want: map[string]Status{IDFixation: StatusPass, IDFixationURL: StatusPass, IDAdoptsUnknownID: StatusPass, IDLogoutInvalidation: StatusPass}},
		{mode: "vulnerable", args: []string{"--vulnerable"}, verdict: VerdictVulnerable, exit: 1,
			want: map[string]Status{IDFixation: StatusFail, IDFixationURL: StatusFail, IDAdoptsUnknownID: StatusFail}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			base := startServe(ctx, t, bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--store", "memory",
				"--account", testUser + ":" + testPassword}, tc.args...))
			rep, err := Run(ctx, Target{BaseURL: base, User: testUser, Password: testPassword, Samples: 50})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkReport(t, rep, tc.verdict, tc.exit, tc.want)
			t.Logf("%s mode: %s, %d requests", tc.mode, rep.Summary, rep.Requests)
		})
	}
}

var servingRE = regexp.MustCompile(`serving .* on (https?://\S+?)/?$`)

// startServe runs the command until the test ends and returns the base
// URL it announces.
func startServe(ctx context.Context, t *testing.T, bin string, args []string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		for sc.Scan() { // keep the pipe drained
		}
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(20 * time.Second):
		t.Fatalf("sessionguard %v did not announce its address", args)
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	return ""
}
