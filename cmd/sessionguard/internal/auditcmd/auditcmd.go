package auditcmd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sessionguard/sessionguard/audit"
	"github.com/sessionguard/sessionguard/audit/auditbrowser"
	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/cliflag"
)

// hooks lets tests make a run deterministic; Main uses the zero value.
type hooks struct {
	color     *bool
	transport http.RoundTripper
}

const usageHead = `usage: sessionguard audit [flags] BASE_URL

Signs in to the web application at BASE_URL as a browser would, performs
the session fixation attack and related session tests (OWASP
WSTG-SESS-01..07) and reports what it found. Flags may come before or after
BASE_URL; PATH values are joined to BASE_URL's path. 'go doc
github.com/sessionguard/sessionguard/audit' describes every check and the
report formats.

Exit status: 0 nothing at or above --fail-on, 1 findings, 2 the audit could
not be done (unreachable, sign-in failed, bad flags).

Flags:
`

// Main runs "sessionguard audit" with args (the arguments after "audit"),
// writing the report to stdout and diagnostics to stderr, and returns the
// exit status. getenv reads SESSIONGUARD_PASSWORD (when --password is not
// given), NO_COLOR and TERM. Colour is used only when stdout is a terminal
// and NO_COLOR is unset.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return run(ctx, args, stdout, stderr, getenv, hooks{})
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

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	if v == "" {
		return errors.New("want a value")
	}
	*l = append(*l, v)
	return nil
}

// headerFlag is the repeatable -H 'Name: value'. A bad value is reported
// after parsing, without the value: the flag package would quote it, and
// header values may be secrets.
type headerFlag struct {
	h   http.Header
	err error
}

func (f *headerFlag) String() string {
	if f == nil || f.h == nil {
		return ""
	}
	names := make([]string, 0, len(f.h))
	for n := range f.h {
		names = append(names, n)
	}
	return strings.Join(names, ",") // names only: values may be secrets
}

func (f *headerFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
		if f.err == nil {
			f.err = errors.New("-H wants 'Name: value' (the value is not shown)")
		}
		return nil
	}
	switch http.CanonicalHeaderKey(name) {
	case "Cookie", "Cookie2":
		if f.err == nil {
			f.err = errors.New("-H: a Cookie header cannot be given: the audit keeps its own cookie jars for victim and attacker (name the session cookie with --cookie)")
		}
		return nil
	}
	if f.h == nil {
		f.h = http.Header{}
	}
	f.h.Add(name, strings.TrimSpace(value))
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, h hooks) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	var (
		t         audit.Target
		login     = pathFlag(audit.DefaultLoginPath)
		check     pathFlag
		logout    pathFlag
		logoutM   = cliflag.NewChoice("", "GET", "POST")
		format    = cliflag.NewChoice("text", "text", "json", "sarif", "markdown")
		failOn    = cliflag.NewChoice("high", "critical", "high", "medium", "low", "none")
		samples   = countFlag(audit.DefaultSamples)
		idleWait  waitFlag
		absWait   waitFlag
		timeout   = waitFlag(audit.DefaultTimeout)
		maxTime   = waitFlag(audit.DefaultMaxTime)
		conc      = countFlag(audit.DefaultConcurrency)
		signIns   = countFlag(audit.DefaultMaxSignIns)
		verbose   bool
		caCert    string
		proxy     string
		cookies   listFlag
		origins   listFlag
		headers   headerFlag
		passwordF string
		loginJSON pathFlag
		browser   bool
		chrome    string
		loadFrom  listFlag
	)
	fs.Var(&login, "login", "`PATH` of the login form page")
	fs.Var(&loginJSON, "login-json", "sign in by POSTing {\"username\":…,\"password\":…} as JSON to `PATH` (names from --user-field/--password-field; needs --check)")
	fs.BoolVar(&browser, "browser", false, "sign in through headless Chromium, for a login form built by script (needs --check)")
	fs.StringVar(&chrome, "chrome", "", "with --browser: the Chromium `PATH` (default: chromium on PATH)")
	fs.StringVar(&t.CSRFHeader, "csrf-header", "", "send a CSRF token from a <meta name=\"csrf-token\"> or a double-submit cookie in header `NAME` (default: the framework's)")
	fs.StringVar(&t.User, "user", "", "user `NAME` of a test account (required)")
	fs.StringVar(&passwordF, "password", "", "`PASSWORD` of the test account (default $SESSIONGUARD_PASSWORD)")
	fs.Var(&check, "check", "`PATH` of a page only a signed-in user sees (default: the page the sign-in lands on)")
	fs.StringVar(&t.Expect, "expect", "", "`TEXT` the check page shows when signed in (default: the user name)")
	fs.Var(&logout, "logout", "`PATH` that logs out (default: a logout form or link on the check page)")
	fs.Var(logoutM, "logout-method", "force `GET|POST` for logging out")
	fs.Var(&cookies, "cookie", "session cookie `NAME` (repeatable; default: detected)")
	fs.Var(format, "format", "output `FORMAT`: text, json, sarif or markdown (a report for the development team)")
	fs.BoolVar(&verbose, "v", false, "text output: also show the evidence of checks that passed")
	fs.Var(failOn, "fail-on", "exit 1 on a finding at or above `SEVERITY`: critical, high, medium, low or none")
	fs.Var(&samples, "samples", "`N` fresh tokens for the randomness analysis (0 skips it)")
	fs.Var(&idleWait, "idle-wait", "run the idle-timeout check: wait `DURATION` without a request (default: not run)")
	fs.Var(&absWait, "absolute-wait", "run the absolute-timeout check: use the session for `DURATION` (default: not run)")
	fs.StringVar(&t.UserField, "user-field", "", "`NAME` of the login form's user-name field (default: detected)")
	fs.StringVar(&t.PasswordField, "password-field", "", "`NAME` of the login form's password field (default: detected)")
	fs.BoolVar(&t.NoWrongPasswordProbe, "no-wrong-password-probe", false, "skip the sign-in with a wrong password that shows what a failed sign-in looks like (for accounts that lock)")
	fs.Var(&timeout, "timeout", "`DURATION` allowed for each request")
	fs.Var(&maxTime, "max-time", "`DURATION` allowed for the whole audit, --idle-wait and --absolute-wait not included; then the checks not finished are errors")
	fs.Var(&signIns, "max-sign-ins", "at most `N` sign-ins (requests carrying the password, the wrong-password probe included); the fixation checks get them first")
	fs.Var(&conc, "concurrency", "`N` requests in flight while collecting token samples")
	fs.BoolVar(&t.AllowPasswordInURL, "allow-password-in-url", false, "submit a login form sent by GET, which puts the password in the URL (noted in the report)")
	fs.Var(&origins, "allow-origin", "trust `ORIGIN` (scheme://host[:port]; repeatable) with the credentials: the login form, a redirect or, with --browser, the page may send them there")
	fs.Var(&loadFrom, "allow-load-from", "with --browser: let the login page load scripts, styles and fonts from `ORIGIN` (repeatable), trusted with nothing typed")
	fs.StringVar(&caCert, "ca-cert", "", "trust the certificate authorities in PEM `FILE` for an https:// target (a private CA)")
	fs.BoolVar(&t.Insecure, "insecure", false, "do not verify the target's TLS certificate (noted in the report)")
	fs.StringVar(&proxy, "proxy", "", "send every request through the proxy at `URL` (http://, https:// or socks5://)")
	fs.Var(&headers, "H", "add the header `'Name: value'` to every request (repeatable; values are never shown)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHead)
		fs.PrintDefaults()
	}

	usageHint := []string{"run 'sessionguard audit -h' for the flags"}
	// secrets are masked in the messages of this function too: a password
	// typed where BASE_URL goes must not be echoed.
	var secrets []string
	fail := func(format string, args ...any) int {
		msg := fmt.Sprintf(format, args...)
		for _, s := range secrets {
			switch {
			case utf8.RuneCountInString(s) >= audit.MinMaskablePassword:
				msg = strings.ReplaceAll(msg, s, "[hidden]")
			case s != "":
				// A short secret is ordinary text ("1"): hidden only
				// where it stands as a value of its own.
				msg = strings.ReplaceAll(msg, strconv.Quote(s), `"[hidden]"`)
			}
		}
		cliflag.Errorf(stderr, usageHint, "%s", msg)
		return 2
	}
	var positional []string
	for {
		if done, code := cliflag.Parse(fs, args, stdout, stderr); done {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	t.Password = passwordF
	if t.Password == "" {
		t.Password = getenv("SESSIONGUARD_PASSWORD")
	}
	secrets = append(secrets, t.Password, url.QueryEscape(t.Password), url.PathEscape(t.Password))
	for _, vals := range headers.h {
		secrets = append(secrets, vals...)
	}
	if headers.err != nil {
		return fail("%v", headers.err)
	}
	switch {
	case len(positional) == 0:
		return fail("no BASE_URL given")
	case len(positional) > 1:
		return fail("one BASE_URL expected, got %d: %s", len(positional), strings.Join(maskArgs(positional, secrets), " "))
	}
	t.BaseURL = positional[0]
	if t.User == "" {
		return fail("--user is required")
	}
	if t.Password == "" {
		return fail("no password: pass --password or set SESSIONGUARD_PASSWORD")
	}
	t.LoginPath = string(login)
	t.CheckPath = string(check)
	t.LogoutPath = string(logout)
	t.LogoutMethod = logoutM.Value()
	t.Cookies = cookies
	t.AllowOrigins = origins
	t.Header = headers.h
	t.Samples = int(samples)
	if samples == 0 {
		t.Samples = -1
	}
	t.IdleWait = time.Duration(idleWait)
	t.AbsoluteWait = time.Duration(absWait)
	t.Timeout = time.Duration(timeout)
	t.MaxTime = time.Duration(maxTime)
	if t.MaxTime == 0 {
		return fail("--max-time must be more than 0")
	}
	if caCert != "" {
		pem, err := os.ReadFile(caCert)
		if err != nil {
			return fail("--ca-cert: %v", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return fail("--ca-cert %s: no PEM certificate in the file", caCert)
		}
	}
	if proxy != "" {
		u, err := url.Parse(proxy)
		if err != nil || u.Host == "" {
			return fail("--proxy %q is not a URL such as http://127.0.0.1:8080", audit.WithoutUserinfo(proxy))
		}
		t.Proxy = u
	}
	if t.Insecure {
		fmt.Fprintln(stderr, "sessionguard: warning: --insecure: the target's TLS certificate is not verified")
	}
	t.LoginJSONPath = string(loginJSON)
	if chrome != "" && !browser {
		return fail("--chrome is only used with --browser")
	}
	if len(loadFrom) > 0 && !browser {
		return fail("--allow-load-from is only used with --browser")
	}
	for _, o := range loadFrom {
		if !isOrigin(o) {
			return fail("--allow-load-from %q is not scheme://host[:port]", o)
		}
	}
	if browser {
		d := &auditbrowser.Driver{Chrome: chrome, Proxy: t.Proxy, Insecure: t.Insecure, AllowLoadFrom: loadFrom}
		if err := d.Check(t); err != nil {
			return fail("--browser: %v", flagText(err.Error()))
		}
		defer d.Close()
		t.SignIn = d
	}
	t.Concurrency = max(int(conc), 1)
	if signIns == 0 {
		return fail("--max-sign-ins must be more than 0")
	}
	t.MaxSignIns = int(signIns)
	t.Progress = stderr
	t.Transport = h.transport
	if err := t.Validate(); err != nil {
		return fail("%v", flagText(strings.TrimPrefix(err.Error(), audit.ErrBadTarget.Error()+": ")))
	}
	if n := utf8.RuneCountInString(t.Password); n < audit.MinMaskablePassword {
		fmt.Fprintf(stderr, "sessionguard: warning: the password has %d characters: shorter than %d, it cannot be told apart from ordinary text, and is hidden only where the application returns it as a credential value; use a long random password for the test account\n", n, audit.MinMaskablePassword)
	}
	sev, err := audit.ParseSeverity(failOn.Value())
	if err != nil {
		return fail("%v", err)
	}

	rep, err := audit.Run(ctx, t)
	rep.RenameHints(flagHint)
	var werr error
	switch format.Value() {
	case "json":
		werr = audit.WriteJSON(stdout, rep)
	case "sarif":
		werr = audit.WriteSARIF(stdout, rep)
	case "markdown":
		werr = audit.WriteMarkdown(stdout, rep)
	default:
		color := isTerminal(stdout) && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
		if h.color != nil {
			color = *h.color
		}
		werr = audit.WriteText(stdout, rep, audit.TextOptions{Color: color, Verbose: verbose})
	}
	if werr != nil {
		cliflag.Errorf(stderr, nil, "writing the report: %v", werr)
		return 2
	}
	switch {
	case errors.Is(err, audit.ErrNotFinished):
		cliflag.Errorf(stderr, []string{"the report holds the checks that finished; raise --max-time to give the others time"}, "%v", flagText(err.Error()))
	case err != nil:
		var hints []string
		if h := hint(err); h != "" {
			hints = append(hints, h)
		}
		cliflag.Errorf(stderr, hints, "could not audit: %v", flagText(err.Error()))
	}
	return rep.ExitCode(sev)
}

func hint(err error) string {
	switch {
	case errors.Is(err, audit.ErrRedirectLoop):
		return "the application redirects in a loop: is --login right? does it need a header the auditor does not send (-H), or a cookie set by script?"
	case errors.Is(err, audit.ErrRefused):
		return "the application limits the rate of requests or failed: wait and run again, lower --concurrency, or raise --max-time so that retries fit"
	case errors.As(err, new(*tls.CertificateVerificationError)):
		return "the target's TLS certificate is not trusted: pass --ca-cert FILE with the CA that signed it (or, knowingly, --insecure)"
	case errors.Is(err, audit.ErrUnreachable):
		return "is the application running and reachable at BASE_URL?"
	case errors.Is(err, audit.ErrNoLoginForm):
		return "pass --login with the page holding the sign-in form, and --user-field/--password-field if its fields are not detected"
	case errors.Is(err, audit.ErrSignInUnfinished):
		return "the sign-in needs a step the audit cannot take (a one-time code, an approval, a choice, a new password): audit with a test account that signs in with the password alone, or finish the pending step once by hand"
	case errors.Is(err, audit.ErrAccountLocked):
		return "unlock the test account, then run again with --no-wrong-password-probe so that the audit never submits a wrong password"
	case errors.Is(err, audit.ErrSignInForbidden):
		return "a 403 on the sign-in usually means a CSRF token or an Origin/Referer check refused it, not a wrong password: is the token in a field of the form, or set by script? does a proxy or -H header change the origin?"
	case errors.Is(err, audit.ErrSignIn):
		return "check --user and --password (or SESSIONGUARD_PASSWORD), and --check/--expect"
	case errors.Is(err, audit.ErrPublicCheckPage):
		return "--check must name a page only a signed-in user sees, and --expect text only it shows"
	case errors.Is(err, audit.ErrNoSessionCookie):
		return "name the session cookie with --cookie"
	case errors.Is(err, audit.ErrSignInBudget):
		return "every request carrying the password counts as a sign-in; raise --max-sign-ins if the account and its rate limits allow it"
	case errors.Is(err, audit.ErrUnsafeSignIn):
		return "the credentials were not sent; see the message for the flag that allows it, if the target is yours and that is intended"
	}
	return ""
}

// isOrigin reports whether s is scheme://host[:port] (http or https).
func isOrigin(s string) bool {
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Path == "" && u.RawQuery == "" && u.User == nil
}

// maskArgs hides the command-line arguments that hold a secret (a
// password typed where BASE_URL goes), so that no message echoes them.
func maskArgs(args, secrets []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		for _, s := range secrets {
			if s != "" && (a == s || utf8.RuneCountInString(s) >= audit.MinMaskablePassword && strings.Contains(a, s)) {
				out[i] = "[hidden]"
			}
		}
	}
	return out
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
