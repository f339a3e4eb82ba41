package demo

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessionguard/sessionguard/session"
)

// DemoReport is what `sessionguard demo --format json` prints.
type DemoReport struct {
	// Expected is true when the vulnerable app was hijacked and the secure
	// one was not, and the auditor (when run) found fixation in the first
	// and nothing in the second: the demonstration worked.
	Expected bool        `json:"expected"`
	Runs     []DemoRun   `json:"runs"`
	Audits   []AuditNote `json:"audits,omitempty"`
}

// DemoRun is the attack against one app, with the security events the app
// raised while it ran (the secure app reports what it refused).
type DemoRun struct {
	AttackRun
	Events []string `json:"events,omitempty"`
}

// AuditNote is the auditor's verdict on one app.
type AuditNote struct {
	App      string   `json:"app"`
	Verdict  string   `json:"verdict"`
	Failed   []string `json:"failed"`
	ExitCode int      `json:"exit_code"`
}

// Auditor audits the app at baseURL as user/password and summarises the
// result. The demo calls it when set; the CLI sets it to the black-box
// auditor.
type Auditor func(ctx context.Context, app, baseURL, user, password string) (AuditNote, error)

// DemoOptions configures [Demo] beyond its flags.
type DemoOptions struct {
	Audit Auditor
}

const victimName = "alice"

// Demo implements `sessionguard demo`: it starts the vulnerable and the
// secure app on loopback with the embedded store, runs the attack against
// each step by step, prints what happened, and audits both. It returns 0
// when the outcome is as expected (vulnerable hijacked, secure not), 1 when
// it is not, 2 when the demo could not run.
func Demo(ctx context.Context, args []string, stdout, stderr io.Writer, opts DemoOptions) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output format: text or json")
	keep := fs.Bool("serve", false, "keep both apps running afterwards, for a person with a browser")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sessionguard demo [--format text|json] [--serve]\n\nRuns the session fixation attack against a vulnerable and a secure app.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "sessionguard: error: --format %q: want text or json\n", *format)
		return 2
	}
	dir, err := os.MkdirTemp("", "sessionguard-demo-")
	if err != nil {
		fmt.Fprintf(stderr, "sessionguard: error: %v\n", err)
		return 2
	}
	defer os.RemoveAll(dir)

	password := randomPassword()
	accts, err := NewAccounts([]Account{{Name: victimName, Password: password}})
	if err != nil {
		fmt.Fprintf(stderr, "sessionguard: error: %v\n", err)
		return 2
	}
	var apps []*demoApp
	for _, vulnerable := range []bool{true, false} {
		a, err := startDemoApp(ctx, dir, accts, vulnerable)
		if err != nil {
			fmt.Fprintf(stderr, "sessionguard: error: starting the demo apps: %v\n", err)
			return 2
		}
		defer a.close()
		apps = append(apps, a)
	}

	report := DemoReport{}
	for _, a := range apps {
		// The attacker learns the app's cookie name by visiting it once.
		cookie := session.DefaultCookieName
		if a.name == "vulnerable" {
			cookie = VulnerableCookie
		}
		run, err := Attack(ctx, Target{App: a.name, BaseURL: a.url, Victim: victimName, Password: password,
			Cookies: []string{cookie}})
		if err != nil {
			fmt.Fprintf(stderr, "sessionguard: error: the demo could not run: %v\n", err)
			return 2
		}
		report.Runs = append(report.Runs, DemoRun{AttackRun: run, Events: a.eventKinds()})
	}
	report.Expected = report.Runs[0].Hijacked && !report.Runs[1].Hijacked
	if opts.Audit != nil {
		for _, a := range apps {
			note, err := opts.Audit(ctx, a.name, a.url, victimName, password)
			if err != nil {
				note = AuditNote{App: a.name, Verdict: "could not audit: " + err.Error(), ExitCode: 2}
			}
			report.Audits = append(report.Audits, note)
		}
		// The auditor must tell the two apps apart as the attack did.
		vuln, secure := report.Audits[0], report.Audits[1]
		report.Expected = report.Expected && slices.Contains(vuln.Failed, "fixation") && vuln.ExitCode == 1 &&
			secure.ExitCode == 0
	}

	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return 2
		}
	} else {
		writeDemoText(stdout, report)
	}
	if *keep {
		fmt.Fprintf(stdout, "\nBoth apps keep running until you press Ctrl-C. Sign in as %s with password %s.\n", victimName, password)
		for _, a := range apps {
			fmt.Fprintf(stdout, "  %-10s %s/login\n", a.name, a.url)
		}
		fmt.Fprintf(stdout, "Try the attacker's link on each: %s/login?session=chosen-by-the-attacker\n", apps[0].url)
		<-ctx.Done()
	}
	if !report.Expected {
		return 1
	}
	return 0
}

func writeDemoText(w io.Writer, r DemoReport) {
	fmt.Fprintln(w, "Session fixation, live: the attack of the analysis against two copies of one app.")
	for _, run := range r.Runs {
		fmt.Fprintf(w, "\n== %s app (%s)\n", strings.ToUpper(run.App), run.URL)
		for _, sc := range run.Scenarios {
			fmt.Fprintf(w, "\n  Scenario: %s\n", sc.Name)
			for i, st := range sc.Steps {
				fmt.Fprintf(w, "  %d. %-8s %s\n", i+1, st.Actor, st.Action)
				fmt.Fprintf(w, "     %-8s → %s\n", "", st.Result)
			}
		}
		outcome := "NOT HIJACKED: the attacker's ID was worthless"
		if run.Hijacked {
			outcome = "HIJACKED: the attacker is signed in as the victim"
		}
		fmt.Fprintf(w, "\n  Outcome: %s\n", outcome)
		if len(run.Events) > 0 {
			fmt.Fprintf(w, "  Security events raised by the app: %s\n", strings.Join(run.Events, ", "))
		}
	}
	if len(r.Audits) > 0 {
		fmt.Fprintln(w, "\n== Auditor (sessionguard audit) on both apps")
		for _, a := range r.Audits {
			failed := "no findings"
			if len(a.Failed) > 0 {
				failed = "findings: " + strings.Join(a.Failed, ", ")
			}
			fmt.Fprintf(w, "  %-10s %s (%s; exit %d)\n", a.App, a.Verdict, failed, a.ExitCode)
		}
	}
	fmt.Fprintln(w)
	if r.Expected {
		fmt.Fprintln(w, "As expected: the vulnerable app was hijacked, the secure app was not.")
	} else {
		fmt.Fprintln(w, "UNEXPECTED OUTCOME: see the steps above.")
	}
}

// demoApp is one app of the demo, served on a loopback port.
type demoApp struct {
	name   string
	url    string
	srv    *http.Server
	closer io.Closer
	mu     sync.Mutex
	events []string
}

func startDemoApp(ctx context.Context, dir string, accts *Accounts, vulnerable bool) (*demoApp, error) {
	a := &demoApp{name: "secure"}
	if vulnerable {
		a.name = "vulnerable"
	}
	store, closer, err := OpenStore(ctx, "bolt:"+filepath.Join(dir, a.name+".db"))
	if err != nil {
		return nil, err
	}
	a.closer = closer
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := New(Config{Store: store, Accounts: accts, Vulnerable: vulnerable, Logger: quiet,
		Session: session.Config{OnEvent: a.record}})
	if err != nil {
		closer.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		closer.Close()
		return nil, err
	}
	a.url = "http://" + ln.Addr().String()
	a.srv = &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	go a.srv.Serve(ln)
	return a, nil
}

func (a *demoApp) record(e session.Event) {
	if !e.Kind.Suspicious() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e.Kind.String())
}

// eventKinds returns the distinct suspicious events, in order of first
// appearance.
func (a *demoApp) eventKinds() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	seen := map[string]bool{}
	for _, k := range a.events {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

func (a *demoApp) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.srv.Shutdown(ctx)
	a.closer.Close()
}
