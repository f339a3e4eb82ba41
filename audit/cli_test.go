package audit

import (
	"bytes"
	"context"
	"flag"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// cliRun is one invocation of sessionguard audit.
type cliRun struct {
	stdout, stderr string
	exit           int
}

// runCLI runs Main's implementation deterministically: invented IDs from a
// seeded generator, one request in flight, no colour.
func runCLI(t *testing.T, args []string, env map[string]string) cliRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	noColor := false
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := runMain(ctx, args, &stdout, &stderr, func(k string) string { return env[k] }, cliHooks{
		rand:        mrand.NewChaCha8([32]byte{9}),
		color:       &noColor,
		concurrency: 1,
	})
	return cliRun{stdout.String(), stderr.String(), code}
}

var portRE = regexp.MustCompile(`(127\.0\.0\.1|localhost):\d+`)

func normalize(s string) string { return portRE.ReplaceAllString(s, "127.0.0.1:PORT") }

// golden compares got with testdata/name.golden, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", path, got)
	}
}

var (
	secureApp = app{cookie: "__Host-sid", csrf: "csrftoken", anonSession: true, renew: true,
		secure: true, httpOnly: true, sameSite: http.SameSiteLaxMode, noStore: true,
		loginRedirect: "/dashboard", logoutMethod: "POST", logoutRedirect: true, logoutLink: true}
	vulnerableApp = app{cookie: "SESSIONID", anonSession: true, adopt: true, urlParam: "session", urlAdopted: true,
		token: tokenHex(16), loginRedirect: "/dashboard", logoutMethod: "POST", logoutLink: true}
	phpApp = app{cookie: "PHPSESSID", anonSession: true, adopt: true, renew: true, noStore: true, token: tokenBase32Hex(26),
		loginRedirect: "/dashboard", logoutMethod: "GET", logoutRedirect: true, logoutLink: true}
)

// TestGolden runs the CLI against fixtures and compares stdout, stderr
// and the exit status with testdata/*.golden.
func TestGolden(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SESSIONGUARD_PASSWORD": testPassword}
	tests := []struct {
		name string
		app  *app // nil: no server (BASE_URL is used as given)
		args []string
		env  map[string]string
	}{
		{name: "vulnerable-text", app: &vulnerableApp, args: []string{"--user", "alice"}},
		{name: "vulnerable-json", app: &vulnerableApp, args: []string{"--user", "alice", "--format", "json", "--samples", "0"}},
		{name: "vulnerable-sarif", app: &vulnerableApp, args: []string{"--user", "alice", "--format", "sarif", "--samples", "0"}},
		{name: "secure-text", app: &secureApp, args: []string{"--user", "alice"}},
		{name: "secure-json", app: &secureApp, args: []string{"--user", "alice", "--format", "json"}},
		{name: "secure-sarif", app: &secureApp, args: []string{"--user", "alice", "--format", "sarif"}},
		{name: "php-text", app: &phpApp, args: []string{"--user", "alice", "--samples", "100"}},
		{name: "wrong-password-text", app: &secureApp, args: []string{"--user", "alice", "--password", "hunter2"}},
		{name: "wrong-password-json", app: &secureApp, args: []string{"--user", "alice", "--password", "hunter2", "--format", "json"}},
		{name: "unreachable-sarif", args: []string{"--user", "alice", "--format", "sarif", "http://127.0.0.1:1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := tc.args
			if tc.app != nil {
				args = append(args[:len(args):len(args)], newApp(t, *tc.app).URL)
			}
			e := env
			if tc.env != nil {
				e = tc.env
			}
			r := runCLI(t, args, e)
			cmd := "$ sessionguard audit " + strings.Join(tc.args, " ")
			if tc.app != nil {
				cmd += " BASE_URL"
			}
			golden(t, tc.name, normalize(cmd+"\n-- exit --\n"+
				strconv.Itoa(r.exit)+"\n-- stderr --\n"+r.stderr+"-- stdout --\n"+r.stdout))
		})
	}
}

// TestExitCodes pins the exit status of every kind of run in one golden
// file: findings and --fail-on, could-not-audit, bad flags, help.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	secure := newApp(t, secureApp).URL
	vulnerable := newApp(t, vulnerableApp).URL
	php := newApp(t, phpApp).URL
	env := map[string]string{"SESSIONGUARD_PASSWORD": testPassword}
	quick := []string{"--user", "alice", "--samples", "0"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"secure app", append(quick, secure), env},
		{"secure app, --fail-on low", append(quick, "--fail-on", "low", secure), env},
		{"vulnerable app", append(quick, vulnerable), env},
		{"vulnerable app, --fail-on critical", append(quick, "--fail-on", "critical", vulnerable), env},
		{"vulnerable app, --fail-on none", append(quick, "--fail-on", "none", vulnerable), env},
		{"php app (medium findings)", append(quick, php), env},
		{"php app, --fail-on medium", append(quick, "--fail-on", "medium", php), env},
		{"flags after BASE_URL", []string{secure, "--user", "alice", "--samples", "0"}, env},
		{"--password flag", append(quick, "--password", testPassword, secure), nil},
		{"no password", append(quick, secure), nil},
		{"wrong password", append(quick, "--password", "nope", secure), nil},
		{"unreachable", append(quick, "http://127.0.0.1:1"), env},
		{"no BASE_URL", quick, env},
		{"two BASE_URLs", append(quick, secure, secure), env},
		{"no --user", []string{secure}, env},
		{"bad --format", append(quick, "--format", "xml", secure), env},
		{"bad --fail-on", append(quick, "--fail-on", "urgent", secure), env},
		{"bad --samples", append(quick, "--samples", "-3", secure), env},
		{"bad --idle-wait", append(quick, "--idle-wait", "soon", secure), env},
		{"bad --logout-method", append(quick, "--logout-method", "DELETE", secure), env},
		{"bad --check", append(quick, "--check", "dashboard", secure), env},
		{"unknown flag", append(quick, "--verbose", secure), env},
		{"ftp BASE_URL", append(quick, "ftp://127.0.0.1/"), env},
		{"-h", []string{"-h"}, env},
	}
	var b strings.Builder
	for _, tc := range tests {
		args := append([]string(nil), tc.args...)
		r := runCLI(t, args, tc.env)
		first := ""
		if r.exit != 0 || tc.name == "-h" {
			out := r.stderr
			if out == "" {
				out = r.stdout
			}
			first, _, _ = strings.Cut(out, "\n")
			first = "  # " + first
		}
		b.WriteString(normalize(tc.name + ": exit " + strconv.Itoa(r.exit) + first + "\n"))
	}
	golden(t, "exitcodes", b.String())
}

func TestColourOnlyOnATerminal(t *testing.T) {
	rep := &Report{Verdict: Vulnerable, Summary: "VULNERABLE to session fixation", Target: "http://h/", CheckURL: "/d",
		Checks: []Check{{ID: IDFixation, Status: Fail, Severity: Critical, Title: "t"}}}
	var plain, colour bytes.Buffer
	if err := WriteText(&plain, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&colour, rep, TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") || !strings.Contains(colour.String(), "\x1b[31m") {
		t.Errorf("colour: plain %q, coloured %q", plain.String(), colour.String())
	}
	if isTerminal(&plain) {
		t.Error("a buffer is not a terminal")
	}
	// Main decides by itself: a buffer gets no colour.
	srv := newApp(t, vulnerableApp)
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"--user", "alice", "--samples", "0", srv.URL}, &out, &errOut,
		func(k string) string { return map[string]string{"SESSIONGUARD_PASSWORD": testPassword}[k] })
	if code != 1 || strings.Contains(out.String(), "\x1b[") || !strings.HasPrefix(out.String(), "VULNERABLE to session fixation\n") {
		t.Errorf("Main: exit %d, output:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
}
