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
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// rendered is one audit written in one format, as the command line
// would print it.
type rendered struct {
	out, progress string
	err           error
	rep           *Report
}

// render runs the audit deterministically (invented IDs from a seeded
// generator, one request in flight) and writes the report in format:
// text, text-v (verbose), json or sarif.
func render(t *testing.T, tg Target, format string) rendered {
	t.Helper()
	var out, progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tg.rand = mrand.NewChaCha8([32]byte{9})
	tg.Concurrency = 1
	tg.Progress = &progress
	rep, err := Run(ctx, tg)
	var werr error
	switch format {
	case "json":
		werr = WriteJSON(&out, rep)
	case "sarif":
		werr = WriteSARIF(&out, rep)
	case "markdown":
		werr = WriteMarkdown(&out, rep)
	case "text-v":
		werr = WriteText(&out, rep, TextOptions{Verbose: true})
	default:
		werr = WriteText(&out, rep, TextOptions{})
	}
	if werr != nil {
		t.Fatal(werr)
	}
	return rendered{out.String(), progress.String(), err, rep}
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

// TestGolden audits fixtures and compares the report in each format, the
// progress lines and the error with testdata/*.golden.
func TestGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		app    *app // nil: no server (BaseURL is used as given)
		target Target
		format string
	}{
		{name: "vulnerable-text", app: &vulnerableApp, format: "text"},
		{name: "vulnerable-json", app: &vulnerableApp, target: Target{Samples: -1}, format: "json"},
		{name: "vulnerable-sarif", app: &vulnerableApp, target: Target{Samples: -1}, format: "sarif"},
		{name: "vulnerable-markdown", app: &vulnerableApp, target: Target{Samples: -1}, format: "markdown"},
		{name: "php-markdown", app: &phpApp, target: Target{Samples: -1}, format: "markdown"},
		{name: "secure-text", app: &secureApp, format: "text"},
		{name: "secure-json", app: &secureApp, format: "json"},
		{name: "secure-sarif", app: &secureApp, format: "sarif"},
		{name: "php-text", app: &phpApp, target: Target{Samples: 100}, format: "text"},
		{name: "wrong-password-text", app: &secureApp, target: Target{Password: "hunter2"}, format: "text"},
		{name: "wrong-password-json", app: &secureApp, target: Target{Password: "hunter2"}, format: "json"},
		{name: "unreachable-sarif", target: Target{BaseURL: "http://127.0.0.1:1"}, format: "sarif"},
		{name: "unreachable-markdown", target: Target{BaseURL: "http://127.0.0.1:1"}, format: "markdown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg := tc.target
			if tc.app != nil {
				tg.BaseURL = newApp(t, *tc.app).URL
			}
			tg.User = testUser
			if tg.Password == "" {
				tg.Password = testPassword
			}
			r := render(t, tg, tc.format)
			errText := "<nil>"
			if r.err != nil {
				errText = r.err.Error()
			}
			golden(t, tc.name, normalize("-- error --\n"+errText+"\n-- progress --\n"+r.progress+"-- report --\n"+r.out))
		})
	}
}

func TestColourOnlyOnATerminal(t *testing.T) {
	rep := &Report{Verdict: VerdictVulnerable, Summary: "VULNERABLE to session fixation", Target: "http://h/", CheckURL: "/d",
		Checks: []Check{{ID: IDFixation, Status: StatusFail, Severity: SeverityCritical, Title: "t"}}}
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

}
