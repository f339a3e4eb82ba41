package audit

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
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
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "cmd", "sessionguard") // a module of its own
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
			want: map[string]Status{IDFixation: StatusPass, IDFixationURL: StatusPass, IDAdoptsUnknownID: StatusPass, IDLogoutInvalidation: StatusPass, IDLoginCSRF: StatusPass}},
		{mode: "vulnerable", args: []string{"--vulnerable"}, verdict: VerdictVulnerable, exit: 1,
			want: map[string]Status{IDFixation: StatusFail, IDFixationURL: StatusFail, IDAdoptsUnknownID: StatusFail, IDLoginCSRF: StatusPass}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			base := startServe(ctx, t, bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--store", "memory",
				"--account", testUser + ":" + testPassword}, tc.args...))
			// A default audit.
			rep, err := Run(ctx, Target{BaseURL: base, User: testUser, Password: testPassword})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkReport(t, rep, tc.verdict, tc.exit, tc.want)
			t.Logf("%s mode: %s, %d requests, %d sessions signed in, %d left open", tc.mode, rep.Summary, rep.Requests, rep.SessionsCreated, rep.SessionsLeftOpen)
			if rep.SessionsCreated == 0 || rep.SessionsLeftOpen != 0 {
				t.Errorf("%d sessions signed in, %d left open", rep.SessionsCreated, rep.SessionsLeftOpen)
			}
			if tc.mode == "secure" {
				// The application's own list of the account's sessions:
				// only the one this test signs in.
				if others := otherSessions(ctx, t, base); others != 0 {
					t.Errorf("%d other sessions of %s are alive after the audit", others, testUser)
				}
			}
		})
	}
}

// otherSessions signs in to the reference app and counts the account's
// other live sessions on its /sessions page (each has a revoke form).
func otherSessions(ctx context.Context, t *testing.T, base string) int {
	t.Helper()
	client := &http.Client{Jar: newJar()}
	do := func(method, path string, form url.Values) string {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", base)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	do("GET", "/login", nil)
	do("POST", "/login", url.Values{"username": {testUser}, "password": {testPassword}})
	page := do("GET", "/sessions", nil)
	if !strings.Contains(page, "this device") {
		t.Fatalf("could not read the session list:\n%s", page)
	}
	return strings.Count(page, `action="/sessions/revoke"`)
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
