// Package demo implements `sessionguard demo`: it starts the reference
// application (package app) twice on loopback, in its vulnerable and its
// secure mode, runs the session fixation attack of the case this project
// grew from against each, step by step ([Attack]), narrating each step as
// it happens, and has the auditor check both. It is internal to the
// command, and not an API.
package demo

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/app"
	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/cliflag"
	"github.com/sessionguard/sessionguard/session"
)

// Report is what `sessionguard demo --format json` prints.
type Report struct {
	// Expected is true when the vulnerable app was hijacked and the secure
	// one was not, and the auditor (when run) found fixation in the first
	// and nothing in the second: the demonstration worked.
	Expected bool        `json:"expected"`
	Runs     []AppRun    `json:"runs"`
	Audits   []AuditNote `json:"audits,omitempty"`
}

// AppRun is the attack against one app, with the security events the app
// raised while it ran (the secure app reports what it refused).
type AppRun struct {
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
// result, writing progress lines ("…: 20/50") to progress. The demo calls
// it when set; the CLI sets it to the black-box auditor.
type Auditor func(ctx context.Context, app, baseURL, user, password string, progress io.Writer) (AuditNote, error)

// AuditSamples is how many fresh tokens the demo's audits collect for the
// token-randomness check: fewer than sessionguard audit's default, since
// each is a sign-in with a deliberately slow password hash.
const AuditSamples = 50

// Options configures [Run] beyond its flags.
type Options struct {
	Audit Auditor
}

const victimName = "alice"

// intro says what the demo shows, and which case it reproduces.
const intro = `Session fixation, live. This project grew from the analysis of a real case: a
Flask login/dashboard application that took its session ID from the URL and
kept it across sign-in, so that whoever chose the ID before the victim signed
in was signed in too. The demo runs that attack against two copies of that
application on loopback: one with the case's session handling, bugs included,
and one on sessionguard; then it audits both with sessionguard audit. The
guide maps each of the analysis's recommendations to the code:
https://github.com/sessionguard/sessionguard/blob/main/docs/guide.md

`

// Run implements `sessionguard demo`: it starts the vulnerable and the
// secure app on loopback with the embedded store, runs the attack against
// each step by step, printing each step as it happens (text format), and
// audits both. It returns 0 when the outcome is as expected (vulnerable
// hijacked, secure not), 1 when it is not, 2 when the demo could not run.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, opts Options) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	format := cliflag.NewChoice("text", "text", "json")
	fs.Var(format, "format", "output format: text (the story, step by step, as it happens) or json (one report at the end)")
	keep := fs.Bool("serve", false, "keep both apps running afterwards, with instructions for playing attacker and victim in your own browser")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: sessionguard demo [--format text|json] [--serve]\n\n%s", intro)
		fs.PrintDefaults()
	}
	if done, code := cliflag.Parse(fs, args, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		cliflag.Errorf(stderr, []string{"demo takes no arguments", "run 'sessionguard demo -h' for the flags"},
			"unexpected argument %q", fs.Arg(0))
		return 2
	}
	n := narrator{w: stdout, on: format.Value() == "text"}
	dir, err := os.MkdirTemp("", "sessionguard-demo-")
	if err != nil {
		cliflag.Errorf(stderr, nil, "%v", err)
		return 2
	}
	defer os.RemoveAll(dir)

	n.printf("%s", intro)
	n.printf("Starting the vulnerable and the secure app on loopback… ")
	password := app.RandomPassword()
	accts, err := app.NewAccounts([]app.Account{{Name: victimName, Password: password}})
	if err != nil {
		n.printf("\n")
		cliflag.Errorf(stderr, nil, "%v", err)
		return 2
	}
	var apps []*demoApp
	for _, vulnerable := range []bool{true, false} {
		a, err := startDemoApp(ctx, dir, accts, vulnerable)
		if err != nil {
			n.printf("\n")
			cliflag.Errorf(stderr, nil, "starting the demo apps: %v", err)
			return 2
		}
		defer a.close()
		apps = append(apps, a)
	}
	n.printf("done.\n")
	for _, a := range apps {
		n.printf("  %-10s %s\n", a.name, a.url)
	}

	report := Report{}
	for _, a := range apps {
		// The attacker learns the app's cookie name by visiting it once.
		cookie := session.DefaultCookieName
		about := "session handling of the case, bugs included"
		if a.name == "vulnerable" {
			cookie = app.VulnerableCookie
		} else {
			about = "the same app on package session"
		}
		n.printf("\n== %s app (%s; %s)\n", strings.ToUpper(a.name), a.url, about)
		scenario, step := "", 0
		run, err := Attack(ctx, Target{App: a.name, BaseURL: a.url, Victim: victimName, Password: password,
			Cookies: []string{cookie}, OnStep: func(sc string, st Step) {
				if sc != scenario {
					scenario, step = sc, 0
					n.printf("\n  Scenario: %s\n", sc)
				}
				step++
				n.printf("  %d. %-8s %s\n", step, st.Actor, st.Action)
				n.printf("     %-8s → %s\n", "", st.Result)
			}})
		if err != nil {
			n.printf("\n")
			cliflag.Errorf(stderr, nil, "the demo could not run: %v", err)
			return 2
		}
		r := AppRun{AttackRun: run, Events: a.eventKinds()}
		report.Runs = append(report.Runs, r)
		outcome := "NOT HIJACKED: the attacker's ID was worthless"
		if run.Hijacked {
			outcome = "HIJACKED: the attacker is signed in as the victim"
		}
		n.printf("\n  Outcome: %s\n", outcome)
		if len(r.Events) > 0 {
			n.printf("  Security events the app raised (what it refused, for an operator to see):\n")
			for _, k := range r.Events {
				n.printf("    %-16s %s\n", k, explainEvent(k))
			}
		}
	}
	report.Expected = report.Runs[0].Hijacked && !report.Runs[1].Hijacked
	if opts.Audit != nil {
		n.printf("\n== The auditor (sessionguard audit) on both apps\n")
		n.printf("  Each audit signs in %d times for its token-randomness check, and every sign-in costs a\n"+
			"  deliberately slow password hash: this part takes a little while. The numbers count the sign-ins.\n", AuditSamples)
		for _, a := range apps {
			n.printf("  %-10s auditing… ", a.name)
			note, err := opts.Audit(ctx, a.name, a.url, victimName, password, progressCounter{n})
			if err != nil {
				note = AuditNote{App: a.name, Verdict: "could not audit: " + err.Error(), ExitCode: 2}
			}
			failed := "no findings"
			if len(note.Failed) > 0 {
				failed = "findings: " + strings.Join(note.Failed, ", ")
			}
			n.printf("→ %s (%s; exit %d)\n", note.Verdict, failed, note.ExitCode)
			report.Audits = append(report.Audits, note)
		}
		// The auditor must tell the two apps apart as the attack did.
		vuln, secure := report.Audits[0], report.Audits[1]
		report.Expected = report.Expected && slices.Contains(vuln.Failed, "fixation") && vuln.ExitCode == 1 &&
			secure.ExitCode == 0
	}

	if format.Value() == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			cliflag.Errorf(stderr, nil, "writing the report: %v", err)
			return 2
		}
	} else {
		n.printf("\n")
		if report.Expected {
			n.printf("As expected: the vulnerable app was hijacked, the secure app was not.\n")
		} else {
			n.printf("UNEXPECTED OUTCOME: see the steps above.\n")
		}
	}
	if *keep {
		writePlayInstructions(stdout, apps, password)
		<-ctx.Done()
	}
	if !report.Expected {
		return 1
	}
	return 0
}

// progressCounter shows the auditor's progress lines ("…: 20/50") as the
// counts alone, on the line the narrator is writing.
type progressCounter struct{ n narrator }

func (p progressCounter) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		count, _, ok := strings.Cut(f[len(f)-1], "/")
		if _, err := strconv.Atoi(count); ok && err == nil {
			p.n.printf("%s ", count)
		}
	}
	return len(b), nil
}

// narrator prints the text format as the demo goes; it is silent for JSON,
// which is printed whole at the end.
type narrator struct {
	w  io.Writer
	on bool
}

func (n narrator) printf(format string, args ...any) {
	if n.on {
		fmt.Fprintf(n.w, format, args...)
	}
}

// eventExplanations says in a sentence what each security event the demo
// can raise means.
var eventExplanations = map[string]string{
	"token-in-url":     "the URL carried a session ID (?session=…); the app ignored it: it reads the session from its cookie only.",
	"unknown-token":    "the browser sent a session cookie the app never issued; it was refused, not adopted, and deleted from the browser.",
	"duplicate-cookie": "one request carried several session cookies, the trace of a cookie planted beside the real one; none was trusted blindly.",
	"dead-token":       "a token that was signed out or replaced at sign-in came back; it was refused.",
	"expired-token":    "a token past its timeout came back; it was refused.",
	"token-guessing":   "one client sent many session IDs the app never issued: someone is guessing or planting IDs.",
}

func explainEvent(kind string) string {
	if e, ok := eventExplanations[kind]; ok {
		return e
	}
	return "see the session package's EventKind documentation."
}

// attackerID is the session ID the instructions have the reader fix.
const attackerID = "attacker-chosen-id"

// writePlayInstructions tells a person how to play attacker and victim
// against both apps with a browser.
func writePlayInstructions(w io.Writer, apps []*demoApp, password string) {
	fmt.Fprintf(w, `
Both apps keep running until you press Ctrl-C. Play the attack yourself:
you need two browser profiles that share no cookies (for example your usual
profile as the victim and a private window as the attacker).

The victim's account: user %s, password %s
`, victimName, password)
	for _, a := range apps {
		fmt.Fprintf(w, `
%s app (%s):
  1. Attacker: the attack is this link, with an ID you chose; send it to the victim:
       %s/login?session=%s
  2. Victim (one profile): open the link and sign in as %s.
  3. Attacker (the other profile): open
       %s/dashboard?session=%s
`, strings.ToUpper(a.name[:1])+a.name[1:], a.url, a.url, attackerID, victimName, a.url, attackerID)
		if a.name == "vulnerable" {
			fmt.Fprintf(w, "     You see \"Welcome %s\": the session is hijacked, without the password.\n", victimName)
		} else {
			fmt.Fprintf(w, "     You land on the sign-in page, which says that the session ID in the link was ignored:\n"+
				"     the victim's sign-in got a fresh ID that only the victim's browser holds.\n")
		}
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

func startDemoApp(ctx context.Context, dir string, accts *app.Accounts, vulnerable bool) (*demoApp, error) {
	a := &demoApp{name: "secure"}
	if vulnerable {
		a.name = "vulnerable"
	}
	store, closer, err := app.OpenStore(ctx, "bolt:"+filepath.Join(dir, a.name+".db"))
	if err != nil {
		return nil, err
	}
	a.closer = closer
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	handler, err := app.New(app.Config{Store: store, Accounts: accts, Vulnerable: vulnerable, Logger: quiet,
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
	a.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
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
