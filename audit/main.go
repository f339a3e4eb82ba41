package audit

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Set implements [flag.Value], so a Severity can be a flag (--fail-on).
func (s *Severity) Set(v string) error {
	p, err := ParseSeverity(v)
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// choiceFlag is a string flag limited to a few values.
type choiceFlag struct {
	value   string
	choices []string
}

func (c *choiceFlag) String() string { return c.value }

func (c *choiceFlag) Set(v string) error {
	for _, ch := range c.choices {
		if strings.EqualFold(v, ch) {
			c.value = ch
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(c.choices, ", "))
}

// countFlag is a non-negative integer flag.
type countFlag int

func (c *countFlag) String() string { return strconv.Itoa(int(*c)) }

func (c *countFlag) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return errors.New("want a whole number, 0 or more")
	}
	*c = countFlag(n)
	return nil
}

// waitFlag is a non-negative duration flag.
type waitFlag time.Duration

func (w *waitFlag) String() string { return time.Duration(*w).String() }

func (w *waitFlag) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return errors.New("want a duration such as 31m or 90s")
	}
	*w = waitFlag(d)
	return nil
}

// pathFlag is a path on the target ("/login") or a URL on its host.
type pathFlag string

func (p *pathFlag) String() string { return string(*p) }

func (p *pathFlag) Set(v string) error {
	if v == "" || !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		return errors.New("want a path starting with / (or a URL on the target)")
	}
	*p = pathFlag(v)
	return nil
}

// cliHooks lets tests make a run deterministic; Main uses the zero value.
type cliHooks struct {
	rand        io.Reader
	color       *bool
	transport   http.RoundTripper
	concurrency int
}

const usage = `usage: sessionguard audit [flags] BASE_URL

Signs in to the web application at BASE_URL as a browser would, performs
the session fixation attack and related session tests (OWASP
WSTG-SESS-01..07) and reports what it found.

Exit status: 0 nothing at or above --fail-on, 1 findings, 2 the audit could
not be done (unreachable, sign-in failed, bad flags).

Flags:
`

// Main runs "sessionguard audit" with args (the arguments after "audit"),
// writing the report to stdout and diagnostics to stderr, and returns the
// exit status. getenv reads SESSIONGUARD_PASSWORD (when --password is not
// given) and NO_COLOR. The CLI's main is only:
//
//	os.Exit(audit.Main(ctx, os.Args[2:], os.Stdout, os.Stderr, os.Getenv))
//
// Colour is used only when stdout is a terminal and NO_COLOR is unset.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return runMain(ctx, args, stdout, stderr, getenv, cliHooks{})
}

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, hooks cliHooks) int {
	fs := flag.NewFlagSet("sessionguard audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		t         Target
		login     = pathFlag(DefaultLoginPath)
		check     pathFlag
		logout    pathFlag
		logoutM   = choiceFlag{choices: []string{"GET", "POST"}}
		format    = choiceFlag{value: "text", choices: []string{"text", "json", "sarif"}}
		failOn    = High
		samples   = countFlag(DefaultSamples)
		idleWait  waitFlag
		timeout   = waitFlag(DefaultTimeout)
		conc      = countFlag(DefaultConcurrency)
		passwordF string
	)
	fs.Var(&login, "login", "`PATH` of the login form page")
	fs.StringVar(&t.User, "user", "", "user `NAME` of a test account (required)")
	fs.StringVar(&passwordF, "password", "", "`PASSWORD` of the test account (default $SESSIONGUARD_PASSWORD)")
	fs.Var(&check, "check", "`PATH` of a page only a signed-in user sees (default: the page the sign-in lands on)")
	fs.StringVar(&t.Expect, "expect", "", "`TEXT` the check page shows when signed in (default: the user name)")
	fs.Var(&logout, "logout", "`PATH` that logs out (default: a logout form or link on the check page)")
	fs.Var(&logoutM, "logout-method", "force `GET|POST` for logging out")
	fs.StringVar(&t.Cookie, "cookie", "", "session cookie `NAME` (default: detected)")
	fs.Var(&format, "format", "output `FORMAT`: text, json or sarif")
	fs.Var(&failOn, "fail-on", "exit 1 on a finding at or above `SEVERITY`: critical, high, medium, low or none")
	fs.Var(&samples, "samples", "`N` fresh tokens for the randomness analysis (0 skips it)")
	fs.Var(&idleWait, "idle-wait", "run the idle-timeout check: wait `DURATION` without a request (default: not run)")
	fs.StringVar(&t.UserField, "user-field", "", "`NAME` of the login form's user-name field (default: detected)")
	fs.StringVar(&t.PasswordField, "password-field", "", "`NAME` of the login form's password field (default: detected)")
	fs.Var(&timeout, "timeout", "`DURATION` allowed for each request")
	fs.Var(&conc, "concurrency", "`N` requests in flight while collecting token samples")

	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "sessionguard: error: "+format+"\n", args...)
		fmt.Fprintln(stderr, "sessionguard: hint: run 'sessionguard audit -h' for usage")
		return 2
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, usage)
				fs.SetOutput(stdout)
				fs.PrintDefaults()
				return 0
			}
			return fail("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case len(positional) == 0:
		return fail("no BASE_URL given")
	case len(positional) > 1:
		return fail("one BASE_URL expected, got %d: %s", len(positional), strings.Join(positional, " "))
	}
	t.BaseURL = positional[0]
	t.Password = passwordF
	if t.Password == "" && getenv != nil {
		t.Password = getenv("SESSIONGUARD_PASSWORD")
	}
	if t.User == "" {
		return fail("--user is required")
	}
	if t.Password == "" {
		return fail("no password: pass --password or set SESSIONGUARD_PASSWORD")
	}
	t.LoginPath = string(login)
	t.CheckPath = string(check)
	t.LogoutPath = string(logout)
	t.LogoutMethod = logoutM.value
	t.Samples = int(samples)
	if samples == 0 {
		t.Samples = -1
	}
	t.IdleWait = time.Duration(idleWait)
	t.Timeout = time.Duration(timeout)
	t.Concurrency = max(int(conc), 1)
	t.Progress = stderr
	t.rand = hooks.rand
	t.Transport = hooks.transport
	if hooks.concurrency > 0 {
		t.Concurrency = hooks.concurrency
	}
	if _, err := (&Target{BaseURL: t.BaseURL, User: "u", Password: "p"}).validate(); err != nil {
		return fail("%v", strings.TrimPrefix(err.Error(), ErrBadTarget.Error()+": "))
	}

	rep, err := Run(ctx, t)
	var werr error
	switch format.value {
	case "json":
		werr = WriteJSON(stdout, rep)
	case "sarif":
		werr = WriteSARIF(stdout, rep)
	default:
		color := isTerminal(stdout) && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
		if hooks.color != nil {
			color = *hooks.color
		}
		werr = WriteText(stdout, rep, TextOptions{Color: color})
	}
	if werr != nil {
		fmt.Fprintf(stderr, "sessionguard: error: writing the report: %v\n", werr)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "sessionguard: error: could not audit: %v\n", err)
		if h := hint(err); h != "" {
			fmt.Fprintf(stderr, "sessionguard: hint: %s\n", h)
		}
	}
	return rep.ExitCode(failOn)
}

func hint(err error) string {
	switch {
	case errors.Is(err, ErrUnreachable):
		return "is the application running and reachable at BASE_URL?"
	case errors.Is(err, ErrNoLoginForm):
		return "pass --login with the page holding the sign-in form, and --user-field/--password-field if its fields are not detected"
	case errors.Is(err, ErrSignIn):
		return "check --user and --password (or SESSIONGUARD_PASSWORD), and --check/--expect"
	case errors.Is(err, ErrPublicCheckPage):
		return "--check must name a page only a signed-in user sees, and --expect text only it shows"
	case errors.Is(err, ErrNoSessionCookie):
		return "name the session cookie with --cookie"
	}
	return ""
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
