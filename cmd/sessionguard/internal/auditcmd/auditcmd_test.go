package auditcmd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	testUser     = "alice"
	testPassword = "correct horse battery staple"
)

// fixture is a small sign-in application: secure (a new ID at sign-in,
// __Host- cookie, no-store) or vulnerable (the ID is kept across sign-in,
// invented IDs are adopted).
type fixture struct {
	vulnerable bool
	requests   atomic.Int64
	mu         sync.Mutex
	sessions   map[string]string // ID → user, "" before sign-in
}

func newFixture(t *testing.T, vulnerable bool) string {
	t.Helper()
	f := &fixture{vulnerable: vulnerable, sessions: map[string]string{}}
	var h http.Handler = f
	if !vulnerable {
		h = http.NewCrossOriginProtection().Handler(f) // refuses cross-site sign-ins
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func (f *fixture) name() string {
	if f.vulnerable {
		return "SESSIONID"
	}
	return "__Host-sid"
}

func (f *fixture) start(w http.ResponseWriter, user string) {
	id := rand.Text()
	f.sessions[id] = user
	http.SetCookie(w, &http.Cookie{Name: f.name(), Value: id, Path: "/", Secure: !f.vulnerable,
		HttpOnly: !f.vulnerable, SameSite: http.SameSiteLaxMode})
}

func (f *fixture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	id := ""
	if c, err := r.Cookie(f.name()); err == nil {
		id = c.Value
		if _, ok := f.sessions[id]; !ok {
			if f.vulnerable {
				f.sessions[id] = ""
			} else {
				id = ""
			}
		}
	}
	switch r.URL.Path {
	case "/login":
		if r.Method == http.MethodPost {
			if r.PostFormValue("username") != testUser || r.PostFormValue("password") != testPassword {
				fmt.Fprint(w, `<form method="post"><p>Wrong password.<input name="username"><input type="password" name="password"></form>`)
				return
			}
			if id == "" || !f.vulnerable {
				delete(f.sessions, id)
				f.start(w, testUser)
			} else {
				f.sessions[id] = testUser
			}
			http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
			return
		}
		if id == "" {
			f.start(w, "")
		}
		fmt.Fprint(w, `<form method="post"><input name="username"><input type="password" name="password"></form>`)
	case "/dashboard":
		if id == "" || f.sessions[id] == "" {
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
		if !f.vulnerable {
			w.Header().Set("Cache-Control", "no-store")
		}
		fmt.Fprintf(w, `<h1>Welcome %s</h1><form method="post" action="/logout"><button>Log out</button></form>`, f.sessions[id])
	case "/logout":
		delete(f.sessions, id)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	default:
		http.NotFound(w, r)
	}
}

func (f *fixture) live() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, u := range f.sessions {
		if u != "" {
			n++
		}
	}
	return n
}

type result struct {
	stdout, stderr string
	exit           int
}

func runCLI(t *testing.T, args []string, env map[string]string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	noColor := false
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := run(ctx, args, &stdout, &stderr, func(k string) string { return env[k] }, hooks{color: &noColor})
	return result{stdout.String(), stderr.String(), code}
}

var portRE = regexp.MustCompile(`(127\.0\.0\.1|localhost):\d+`)

func normalize(s string) string { return portRE.ReplaceAllString(s, "127.0.0.1:PORT") }

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
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

// TestExitCodes pins the exit status and first diagnostic line of every
// kind of run in one golden file: findings and --fail-on, could-not-audit,
// bad flags, help.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	secure := newFixture(t, false)
	vulnerable := newFixture(t, true)
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			http.Error(w, "CSRF token missing", http.StatusForbidden)
			return
		}
		fmt.Fprint(w, `<form method="post"><input name="username"><input type="password" name="password"></form>`)
	}))
	t.Cleanup(forbidden.Close)
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
		{"vulnerable app, --format json", append(quick, "--format", "json", vulnerable), env},
		{"flags after BASE_URL", []string{secure, "--user", "alice", "--samples", "0"}, env},
		{"--password flag", append(quick, "--password", testPassword, secure), nil},
		{"no password", append(quick, secure), nil},
		{"wrong password", append(quick, "--password", "nope", secure), nil},
		{"unreachable", append(quick, "http://127.0.0.1:1"), env},
		{"403 on the sign-in (hint)", append(quick, forbidden.URL), env},
		{"no BASE_URL", quick, env},
		{"two BASE_URLs", append(quick, secure, secure), env},
		{"no --user", []string{secure}, env},
		{"bad --format", append(quick, "--format", "xml", secure), env},
		{"bad --fail-on", append(quick, "--fail-on", "urgent", secure), env},
		{"bad --samples", append(quick, "--samples", "-3", secure), env},
		{"bad --idle-wait", append(quick, "--idle-wait", "soon", secure), env},
		{"bad --absolute-wait", append(quick, "--absolute-wait", "-1h", secure), env},
		{"vulnerable app, --format markdown", append(quick, "--format", "markdown", vulnerable), env},
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
			lines := strings.Split(strings.TrimSpace(out), "\n")
			first = "  # " + lines[0]
			if len(lines) > 1 && strings.HasPrefix(lines[len(lines)-1], "sessionguard: hint: ") && r.exit == 2 && tc.name != "-h" {
				first += "\n    # " + lines[len(lines)-1]
			}
		}
		b.WriteString(normalize(tc.name + ": exit " + strconv.Itoa(r.exit) + first + "\n"))
	}
	golden(t, "exitcodes", b.String())
}

func TestHelpOnStdout(t *testing.T) {
	r := runCLI(t, []string{"-h"}, nil)
	if r.exit != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "usage: sessionguard audit") || !strings.Contains(r.stdout, "-fail-on") {
		t.Errorf("-h: exit %d, stderr %q, stdout:\n%s", r.exit, r.stderr, r.stdout)
	}
}

// helpFlags lists the flags "sessionguard audit -h" prints.
func helpFlags(t *testing.T) []string {
	t.Helper()
	r := runCLI(t, []string{"-h"}, nil)
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z][a-z-]+|[a-zA-Z])\b`).FindAllStringSubmatch(r.stdout, -1) {
		if len(m[1]) == 1 {
			out = append(out, "-"+m[1])
		} else {
			out = append(out, "--"+m[1])
		}
	}
	slices.Sort(out)
	if len(out) < 10 {
		t.Fatalf("found only %v in -h output:\n%s", out, r.stdout)
	}
	return out
}

// docFlags lists the flags named in the text between start and end.
func docFlags(t *testing.T, file, start, end string, re *regexp.Regexp) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, start)
	if i < 0 {
		t.Fatalf("%s: no %q", file, start)
	}
	s = s[i:]
	if j := strings.Index(s[len(start):], end); j >= 0 {
		s = s[:len(start)+j]
	}
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

// TestFlagsDocumented holds the README's audit flag table and the flag
// list of this package's documentation against "sessionguard audit -h":
// a flag cannot be missing from either, nor documented without existing.
func TestFlagsDocumented(t *testing.T) {
	want := helpFlags(t)
	// README table rows: | `--login PATH` | … |, several flags per cell.
	readme := docFlags(t, "../../../../README.md", "## Auditing any application", "\n## ",
		regexp.MustCompile("`(--[a-z][a-z-]+|-[a-zA-Z])\\b"))
	if !slices.Equal(readme, want) {
		t.Errorf("README audit flags differ from sessionguard audit -h:\nREADME: %v\n-h:     %v", readme, want)
	}
	pkg := docFlags(t, "doc.go", "# Command line", "\n// # ",
		regexp.MustCompile(`(?m)^//\t(--[a-z][a-z-]+|-[a-zA-Z])\b`))
	if !slices.Equal(pkg, want) {
		t.Errorf("auditcmd package doc flags differ from sessionguard audit -h:\ndoc: %v\n-h:  %v", pkg, want)
	}
}

func TestNoColourOffATerminal(t *testing.T) {
	var buf bytes.Buffer
	if isTerminal(&buf) {
		t.Error("a buffer is not a terminal")
	}
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"--user", "alice", "--samples", "0", newFixture(t, true)}, &out, &errOut,
		func(k string) string { return map[string]string{"SESSIONGUARD_PASSWORD": testPassword}[k] })
	if code != 1 || strings.Contains(out.String(), "\x1b[") || !strings.HasPrefix(out.String(), "VULNERABLE to session fixation\n") {
		t.Errorf("Main: exit %d, output:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
}

// secretPassword encodes differently raw, in URLs, in HTML and in JSON.
const secretPassword = `s3cr et&"<pässwörd>€'`

// encodings lists the forms in which a secret could leak into an output.
func encodings(v string) []string {
	j, _ := json.Marshal(v)
	return []string{v, url.QueryEscape(v), url.PathEscape(v), html.EscapeString(v), strings.Trim(string(j), `"`)}
}

// TestCLINeverShowsSecrets runs the command in every format against a
// login form sent by GET (refused, then allowed) and with bad -H values,
// and fails if the password or a header value appears on stdout or stderr
// in any encoding.
func TestCLINeverShowsSecrets(t *testing.T) {
	t.Parallel()
	getForm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("password") != "" {
			panic(http.ErrAbortHandler) // the URL with the password ends up in the error
		}
		fmt.Fprint(w, `<form action="/login"><input name="username"><input type="password" name="password"></form>`)
	}))
	defer getForm.Close()
	const headerSecret = "Bearer s3cr3t-t0ken"
	env := map[string]string{"SESSIONGUARD_PASSWORD": secretPassword}
	for _, tc := range []struct {
		args []string
		exit int
		want string
	}{
		{[]string{getForm.URL}, 2, "--allow-password-in-url"},
		{[]string{secretPassword, getForm.URL}, 2, "one BASE_URL expected"},
		{[]string{secretPassword}, 2, "is not an http:// or https:// URL"},
		{[]string{"--allow-password-in-url", getForm.URL}, 2, "target unreachable"},
		{[]string{"-H", "Authorization " + headerSecret, getForm.URL}, 2, "-H wants 'Name: value'"},
		{[]string{"-H", "Cookie: sid=" + headerSecret, getForm.URL}, 2, "cookie jars"},
		{[]string{"-H", "Authorization: " + headerSecret, "--allow-password-in-url", getForm.URL}, 2, "target unreachable"},
	} {
		for _, format := range []string{"text", "json", "sarif", "markdown"} {
			args := append([]string{"--user", "alice", "--samples", "0", "--format", format}, tc.args...)
			r := runCLI(t, args, env)
			if r.exit != tc.exit || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("%q: exit %d, stderr:\n%s\nwant exit %d and %q", args, r.exit, r.stderr, tc.exit, tc.want)
			}
			for _, secret := range []string{secretPassword, headerSecret} {
				for _, e := range encodings(secret) {
					if strings.Contains(r.stdout+r.stderr, e) {
						t.Errorf("%q: output holds a secret as %q:\n%s\n%s", args, e, r.stderr, r.stdout)
					}
				}
			}
		}
	}
}

// TestEngagementFlags: --ca-cert for a private CA, --insecure (loud, in
// the report too), --proxy, and -H for a header every request needs.
func TestEngagementFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SESSIONGUARD_PASSWORD": testPassword}
	quick := []string{"--user", "alice", "--samples", "0"}

	tlsSrv := httptest.NewTLSServer(&fixture{sessions: map[string]string{}})
	t.Cleanup(tlsSrv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	var proxied atomic.Int64
	target := newFixture(t, false)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(proxy.Close)

	const gateKey = "g4te-k3y-value"
	gated := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Gate") != gateKey {
			http.Error(w, "no gate key", http.StatusForbidden)
			return
		}
		http.Redirect(w, r, "/login", http.StatusFound)
	}))
	t.Cleanup(gated.Close)

	for _, tc := range []struct {
		name string
		args []string
		exit int
		want string // in stderr+stdout
	}{
		{"private CA, not trusted", []string{tlsSrv.URL}, 2, "pass --ca-cert FILE"},
		{"private CA, --ca-cert", []string{"--ca-cert", caFile, tlsSrv.URL}, 0, "no fixation found"},
		{"--insecure", []string{"--insecure", tlsSrv.URL}, 0, "WARNING: --insecure"},
		{"--ca-cert without a certificate", []string{"--ca-cert", filepath.Join(t.TempDir(), "none.pem"), tlsSrv.URL}, 2, "--ca-cert"},
		{"--proxy", []string{"--proxy", proxy.URL, target}, 0, "no fixation found"},
		{"gateway without -H", []string{gated.URL}, 2, "403"},
		{"gateway with -H", []string{"-H", "X-Gate: " + gateKey, gated.URL}, 2, "redirect loop"},
	} {
		r := runCLI(t, append(append([]string(nil), quick...), tc.args...), env)
		out := r.stderr + r.stdout
		if r.exit != tc.exit || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d, want %d and %q:\n%s", tc.name, r.exit, tc.exit, tc.want, out)
		}
		if strings.Contains(out, gateKey) {
			t.Errorf("%s: the -H value is in the output", tc.name)
		}
		if tc.name == "--insecure" && !strings.Contains(r.stderr, "sessionguard: warning: --insecure") {
			t.Errorf("--insecure is not loud on stderr: %q", r.stderr)
		}
	}
	if proxied.Load() == 0 {
		t.Error("no request went through --proxy")
	}
}

// TestInterrupt: on SIGINT (a cancelled context, as main arranges) the
// report holds the finished checks: exit 1 when one of them is a finding
// at or above --fail-on, else 2; the audit's sessions are signed out.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		failOn string
		exit   int
	}{{"high", 1}, {"none", 2}} {
		f := &fixture{vulnerable: true, sessions: map[string]string{}}
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr bytes.Buffer
		done := make(chan int)
		go func() {
			done <- run(ctx, []string{"--user", "alice", "--samples", "0", "--idle-wait", "1h", "--fail-on", tc.failOn, "--format", "json", srv.URL},
				&stdout, &stderr, func(k string) string { return map[string]string{"SESSIONGUARD_PASSWORD": testPassword}[k] }, hooks{})
		}()
		// The idle-timeout check signs in and waits: once the requests
		// stop for half a second, interrupt.
		last, still := int64(-1), 0
		for still < 5 {
			time.Sleep(100 * time.Millisecond)
			if n := f.requests.Load(); n == last && n > 0 {
				still++
			} else {
				last, still = n, 0
			}
		}
		cancel()
		code := <-done
		if code != tc.exit || !strings.Contains(stderr.String(), "interrupted") || !strings.Contains(stdout.String(), `"not finished`) {
			t.Errorf("--fail-on %s: exit %d, want %d; stderr:\n%s\nstdout:\n%s", tc.failOn, code, tc.exit, stderr.String(), stdout.String())
		}
		if !strings.Contains(stdout.String(), `"verdict": "vulnerable"`) {
			t.Errorf("the finished fixation finding is not in the report:\n%s", stdout.String())
		}
		if n := f.live(); n != 0 {
			t.Errorf("%d sessions left signed in", n)
		}
	}
}

// TestBrowserFlags: --chrome needs --browser, a private CA cannot be
// given to the browser, and a missing Chromium is a clear error; each is
// exit status 2 before any request.
func TestBrowserFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SESSIONGUARD_PASSWORD": testPassword}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--chrome", "/usr/bin/chromium"}, "--chrome is only used with --browser"},
		{[]string{"--browser", "--chrome", "/nonexistent/chromium"}, "--browser: no Chromium found: --chrome /nonexistent/chromium"},
		{[]string{"--browser", "--chrome", "/nonexistent/chromium", "--ca-cert", caFile}, "--browser: a private CA (--ca-cert) cannot be applied to the browser"},
		{[]string{"--login-json", "/api/login"}, "needs a check page (pass --check PATH)"},
	} {
		args := append([]string{"--user", "alice", "--check", "/dashboard"}, tc.args...)
		if tc.args[0] == "--login-json" {
			args = []string{"--user", "alice", "--login-json", "/api/login"}
		}
		r := runCLI(t, append(args, srv.URL), env)
		if r.exit != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, r.exit, r.stderr, tc.want)
		}
	}
}

// TestURLCredentialsNotEchoed: a --proxy or BASE_URL that carries
// credentials and is refused is named in the diagnostic without them.
func TestURLCredentialsNotEchoed(t *testing.T) {
	env := map[string]string{"SESSIONGUARD_PASSWORD": testPassword}
	for _, args := range [][]string{
		{"--user", "alice", "--proxy", "proxyuser:ProxySecret77@127.0.0.1:8080", "http://127.0.0.1:1/"},
		{"--user", "alice", "--proxy", "http://proxyuser:ProxySecret77@/", "http://127.0.0.1:1/"},
		{"--user", "alice", "https://gw:ProxySecret77@127.0.0.1:80a/"},
		{"--user", "alice", "https://gw:ProxySecret77@127.0.0.1/"},
	} {
		r := runCLI(t, args, env)
		if r.exit != 2 || !strings.Contains(r.stderr, "127.0.0.1") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and the URL without its credentials", args, r.exit, r.stderr)
		}
		if strings.Contains(r.stderr+r.stdout, "ProxySecret77") {
			t.Errorf("%q: the credentials are echoed: %s%s", args, r.stdout, r.stderr)
		}
	}
}
