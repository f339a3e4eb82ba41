package audit

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

// statuses is the expected status of every check: pass, except the ones
// listed, and idle-timeout skip unless listed.
func statuses(except map[string]Status) map[string]Status {
	out := map[string]Status{}
	for _, c := range catalog {
		out[c.id] = StatusPass
	}
	out[IDIdleTimeout] = StatusSkip
	out[IDAbsoluteTimeout] = StatusSkip
	// login-csrf follows from the fixture's defences; see TestFrameworks.
	delete(out, IDLoginCSRF)
	for id, s := range except {
		if _, ok := out[id]; !ok {
			panic("unknown check " + id)
		}
		out[id] = s
	}
	return out
}

func fails(ids ...string) map[string]Status {
	m := map[string]Status{}
	for _, id := range ids {
		m[id] = StatusFail
	}
	return m
}

func with(m map[string]Status, id string, s Status) map[string]Status {
	m[id] = s
	return m
}

// weak cookie attributes, as most frameworks ship them by default.
var defaultCookieFails = []string{IDCookieSecure, IDCookieHTTPOnly, IDCookieSameSite, IDCookiePrefix}

// frameworkCases are applications behaving like widely used frameworks.
// Each states the verdict and exit status (with --fail-on high) it must get.
var frameworkCases = []struct {
	name    string
	app     app
	target  Target
	verdict Verdict
	exit    int
	want    map[string]Status
}{
	{
		name: "secure: renews at sign-in, __Host- cookie, no-store, CSRF hidden field and cookie",
		app: app{cookie: "__Host-sid", csrf: "csrftoken", anonSession: true, renew: true,
			secure: true, httpOnly: true, sameSite: http.SameSiteLaxMode, noStore: true,
			loginRedirect: "/dashboard", logoutMethod: "POST", logoutRedirect: true, logoutLink: true},
		verdict: VerdictNoFixationFound, exit: 0,
		want: statuses(nil),
	},
	{
		name: "seed's vulnerable app: ?session= taken from the URL, invented IDs adopted, ID kept across sign-in",
		app: app{cookie: "SESSIONID", anonSession: true, adopt: true, urlParam: "session", urlAdopted: true,
			loginRedirect: "/dashboard", logoutMethod: "POST", logoutLink: true},
		verdict: VerdictVulnerable, exit: 1,
		want: statuses(fails(append([]string{IDFixation, IDFixationURL, IDAdoptsUnknownID, IDCacheControl}, defaultCookieFails...)...)),
	},
	{
		name: "PHP: PHPSESSID, use_strict_mode=0 adopts invented IDs, session_regenerate_id at sign-in, logout link by GET",
		app: app{cookie: "PHPSESSID", anonSession: true, adopt: true, renew: true, noStore: true, token: tokenBase32Hex(26),
			loginRedirect: "/dashboard", logoutMethod: "GET", logoutRedirect: true, logoutLink: true},
		verdict: VerdictNoFixationFound, exit: 0,
		want: statuses(fails(append([]string{IDAdoptsUnknownID}, defaultCookieFails...)...)),
	},
	{
		name: "Tomcat: JSESSIONID, ;jsessionid= URL rewriting, unknown IDs refused, valid pre-login ID kept across sign-in",
		app: app{cookie: "JSESSIONID", anonSession: true, urlParam: "jsessionid", httpOnly: true, token: tokenHexUpper(16),
			loginRedirect: "/dashboard", logoutMethod: "GET", logoutRedirect: true},
		target:  Target{LogoutPath: "/logout"},
		verdict: VerdictVulnerable, exit: 1,
		want: statuses(fails(IDFixation, IDFixationURL, IDCookieSecure, IDCookieSameSite, IDCookiePrefix, IDCacheControl)),
	},
	{
		name: "refuses invented IDs but keeps a valid pre-login ID across sign-in (cookie only)",
		app: app{cookie: "sid", anonSession: true, httpOnly: true, sameSite: http.SameSiteLaxMode, noStore: true,
			loginRedirect: "/dashboard", logoutMethod: "POST", logoutRedirect: true},
		target:  Target{LogoutPath: "/logout"}, // POST-only: GET gets 405 and is retried as POST
		verdict: VerdictVulnerable, exit: 1,
		want: statuses(fails(IDFixation, IDCookieSecure, IDCookiePrefix)),
	},
	{
		name: "Express: connect.sid signed s:ID.SIG, saveUninitialized false (cookie only after sign-in), regenerate at sign-in, _csrf cookie",
		app: app{cookie: "connect.sid", signedID: "s:", csrf: "_csrf", renew: true, httpOnly: true,
			loginRedirect: "/dashboard", logoutMethod: "POST", logoutRedirect: true, logoutLink: true},
		verdict: VerdictNoFixationFound, exit: 0,
		// IDs only at sign-in: the sign-in budget cannot give the samples
		want: statuses(with(fails(IDCookieSecure, IDCookieSameSite, IDCookiePrefix, IDCacheControl), IDTokenRandomness, StatusSkip)),
	},
	{
		name: "Django: sessionid created at sign-in (cycle_key), csrftoken cookie and hidden field, email field, logout by POST",
		app: app{cookie: "sessionid", csrf: "csrftoken", renew: true, httpOnly: true, sameSite: http.SameSiteLaxMode,
			userField: "email", passField: "pass", token: tokenAlnum(32),
			loginRedirect: "/dashboard", logoutMethod: "POST", logoutLink: true},
		target:  Target{User: "alice@example.com"},
		verdict: VerdictNoFixationFound, exit: 0,
		want: statuses(with(fails(IDCookieSecure, IDCookiePrefix, IDCacheControl), IDTokenRandomness, StatusSkip)),
	},
	{
		name: "Flask: signed client-side cookie session, sign-in renders the page itself, logout by GET only clears the cookie",
		app: app{cookie: "session", clientSide: true, anonSession: true, httpOnly: true, sameSite: http.SameSiteLaxMode, noStore: true,
			logoutMethod: "GET", logoutLink: true},
		target:  Target{CheckPath: "/dashboard", Samples: -1},
		verdict: VerdictNoFixationFound, exit: 1,
		want: statuses(with(fails(IDLogoutInvalidation, IDCookieSecure, IDCookiePrefix), IDTokenRandomness, StatusSkip)),
	},
	{
		name: "form without an action: the credentials post back to the login URL as served",
		app: app{anonSession: true, renew: true, emptyAction: true, httpOnly: true, secure: true, sameSite: http.SameSiteStrictMode, noStore: true,
			loginRedirect: "/dashboard"},
		verdict: VerdictNoFixationFound, exit: 0,
		want: statuses(map[string]Status{IDCookiePrefix: StatusFail, IDLogoutInvalidation: StatusSkip}),
	},
	{
		name: "sessions carried in URLs and forms: ?session= rewritten into links and the form action, ID kept at sign-in, cookie not set from URL",
		app: app{anonSession: true, urlParam: "session", adopt: true, httpOnly: true, secure: true, sameSite: http.SameSiteLaxMode, noStore: true,
			loginRedirect: "/dashboard", logoutMethod: "GET", logoutLink: true},
		verdict: VerdictVulnerable, exit: 1,
		want: statuses(fails(IDFixation, IDFixationURL, IDAdoptsUnknownID, IDCookiePrefix)),
	},
	{
		name: "PHP trans_sid: ?session= from the URL carried on in a hidden form field, ID kept at sign-in",
		app: app{cookie: "PHPSESSID", anonSession: true, urlParam: "session", hiddenID: true, httpOnly: true, secure: true,
			sameSite: http.SameSiteLaxMode, noStore: true, token: tokenBase32Hex(26), loginRedirect: "/dashboard"},
		verdict: VerdictVulnerable, exit: 1,
		want: statuses(map[string]Status{IDFixation: StatusFail, IDFixationURL: StatusFail, IDCookiePrefix: StatusFail, IDLogoutInvalidation: StatusSkip}),
	},
	{
		name: "weak tokens: a counter",
		app: app{anonSession: true, renew: true, httpOnly: true, secure: true, sameSite: http.SameSiteLaxMode, noStore: true,
			token: tokenCounter(), loginRedirect: "/dashboard"},
		verdict: VerdictNoFixationFound, exit: 1,
		want: statuses(map[string]Status{IDTokenRandomness: StatusFail, IDCookiePrefix: StatusFail, IDLogoutInvalidation: StatusSkip}),
	},
	{
		name: "80-bit tokens: warned at low severity",
		app: app{anonSession: true, renew: true, httpOnly: true, secure: true, sameSite: http.SameSiteLaxMode, noStore: true,
			token: tokenHex(10), loginRedirect: "/dashboard"},
		verdict: VerdictNoFixationFound, exit: 0,
		want: statuses(map[string]Status{IDTokenRandomness: StatusFail, IDCookiePrefix: StatusFail, IDLogoutInvalidation: StatusSkip}),
	},
}

var showReports = flag.Bool("reports", false, "log every fixture's text report")

func auditTarget(base string, extra Target) Target {
	t := extra
	t.BaseURL = base
	if t.User == "" {
		t.User = testUser
	}
	t.Password = testPassword
	if t.Samples == 0 {
		t.Samples = 100
	}
	return t
}

func TestFrameworks(t *testing.T) {
	t.Parallel()
	for _, tc := range frameworkCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.app
			if tc.target.User != "" {
				cfg.user, cfg.password = tc.target.User, testPassword
			}
			srv := newApp(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rep, err := Run(ctx, auditTarget(srv.URL, tc.target))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := maps.Clone(tc.want)
			if _, ok := want[IDLoginCSRF]; !ok {
				// A fixture without a CSRF token or an Origin check signs in
				// whoever posts the form.
				want[IDLoginCSRF] = StatusFail
				if cfg.csrf != "" || cfg.originCheck {
					want[IDLoginCSRF] = StatusPass
				}
			}
			checkReport(t, rep, tc.verdict, tc.exit, want)
			checkSignIns(t, rep, srv, DefaultMaxSignIns)
			t.Logf("%d requests, %d sign-ins", rep.Requests, rep.SignIns)
		})
	}
}

// checkSignIns holds the sign-ins the report counts against the ones the
// server saw, and both against the budget.
func checkSignIns(t *testing.T, rep *Report, srv *appServer, budget int) {
	t.Helper()
	if seen := srv.signInsSeen(); rep.SignIns != seen || seen > budget {
		t.Errorf("the report counts %d sign-ins, the server saw %d; the budget is %d", rep.SignIns, seen, budget)
	}
}

func checkReport(t *testing.T, rep *Report, verdict Verdict, exit int, want map[string]Status) {
	t.Helper()
	var b strings.Builder
	if err := WriteText(&b, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != verdict {
		t.Errorf("verdict %q, want %q", rep.Verdict, verdict)
	}
	if got := rep.ExitCode(SeverityHigh); got != exit {
		t.Errorf("exit code %d, want %d", got, exit)
	}
	if len(rep.Checks) != len(catalog) {
		t.Errorf("%d checks, want %d", len(rep.Checks), len(catalog))
	}
	for _, c := range rep.Checks {
		if w, ok := want[c.ID]; ok && c.Status != w {
			t.Errorf("%s: %s, want %s", c.ID, c.Status, w)
		}
		if c.Status != StatusPass && len(c.Evidence) == 0 {
			t.Errorf("%s: %s without evidence", c.ID, c.Status)
		}
	}
	if t.Failed() || *showReports {
		t.Logf("report:\n%s", b.String())
	}
}

// TestCouldNotAudit: an audit that cannot reach the target, sign in or
// find the session cookie says so, exits 2, and passes nothing.
func TestCouldNotAudit(t *testing.T) {
	t.Parallel()
	closed := newApp(t, app{})
	closedURL := closed.URL
	closed.Close()
	good := app{anonSession: true, renew: true, loginRedirect: "/dashboard"}
	tests := []struct {
		name    string
		app     *app
		base    string
		target  Target
		wantErr error
		text    string
	}{
		{name: "unreachable", base: closedURL, wantErr: ErrUnreachable, text: "connection refused"},
		{name: "wrong password", app: &good, target: Target{Password: "not-the-password"}, wantErr: ErrSignIn, text: "wrong Target.User or Target.Password"},
		{name: "wrong user", app: &good, target: Target{User: "mallory"}, wantErr: ErrSignIn},
		{name: "no login page", app: &good, target: Target{LoginPath: "/signin"}, wantErr: ErrNoLoginForm, text: "404"},
		{name: "no user-name field", app: &good, target: Target{UserField: "login"}, wantErr: ErrNoLoginForm, text: `no field named "login"`},
		{name: "public check page", app: &good, target: Target{CheckPath: "/", Expect: "Welcome"}, wantErr: ErrPublicCheckPage},
		{name: "named cookie not set", app: &good, target: Target{Cookies: []string{"PHPSESSID"}}, wantErr: ErrNoSessionCookie, text: "PHPSESSID"},
		{name: "expected text never shown", app: &good, target: Target{Expect: "Bienvenue"}, wantErr: ErrSignIn},
		{name: "sign-in renders the dashboard itself and no --check", app: &app{anonSession: true, renew: true}, wantErr: ErrSignIn, text: "set Target.CheckPath"},
		{name: "bad base URL", base: "ftp://example.com", wantErr: ErrBadTarget},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := tc.base
			if tc.app != nil {
				base = newApp(t, *tc.app).URL
			}
			tg := auditTarget(base, tc.target)
			if tc.target.Password != "" {
				tg.Password = tc.target.Password
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			rep, err := Run(ctx, tg)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run error %v, want %v", err, tc.wantErr)
			}
			if tc.text != "" && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not say %q", err, tc.text)
			}
			if rep == nil {
				t.Fatal("no report")
			}
			if rep.Verdict != VerdictCouldNotAudit || !strings.HasPrefix(rep.Summary, "could not audit: ") {
				t.Errorf("verdict %q summary %q", rep.Verdict, rep.Summary)
			}
			if got := rep.ExitCode(SeverityHigh); got != 2 {
				t.Errorf("exit %d, want 2", got)
			}
			for _, c := range rep.Checks {
				if c.Status != StatusError {
					t.Errorf("%s: %s, want error", c.ID, c.Status)
				}
			}
		})
	}
}

// TestIdleTimeout is the opt-in check against an app with and without a
// server-side idle timeout.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		idle, wait time.Duration
		want       Status
	}{
		{idle: 100 * time.Millisecond, wait: 300 * time.Millisecond, want: StatusPass},
		{idle: 0, wait: 50 * time.Millisecond, want: StatusFail},
	} {
		t.Run(fmt.Sprint("idle=", tc.idle), func(t *testing.T) {
			t.Parallel()
			srv := newApp(t, app{anonSession: true, renew: true, idle: tc.idle, loginRedirect: "/dashboard"})
			rep, err := Run(context.Background(), auditTarget(srv.URL, Target{IdleWait: tc.wait, Samples: -1}))
			if err != nil {
				t.Fatal(err)
			}
			c, _ := rep.Check(IDIdleTimeout)
			if c.Status != tc.want {
				t.Errorf("idle-timeout %s, want %s: %q", c.Status, tc.want, c.Evidence)
			}
		})
	}
}

func TestReportHelpers(t *testing.T) {
	rep := &Report{Checks: []Check{
		{ID: IDFixation, Status: StatusPass, Severity: SeverityCritical},
		{ID: IDCookieSameSite, Status: StatusFail, Severity: SeverityLow},
		{ID: IDCookieSecure, Status: StatusFail, Severity: SeverityMedium},
	}}
	var ids []string
	for _, c := range rep.Findings(SeverityMedium) {
		ids = append(ids, c.ID)
	}
	sort.Strings(ids)
	if strings.Join(ids, ",") != IDCookieSecure {
		t.Errorf("Findings(medium) = %v", ids)
	}
	for _, tc := range []struct {
		failOn Severity
		want   int
	}{{SeverityCritical, 0}, {SeverityHigh, 0}, {SeverityMedium, 1}, {SeverityLow, 1}, {SeverityNone, 0}} {
		if got := rep.ExitCode(tc.failOn); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.failOn, got, tc.want)
		}
	}
	rep.Checks = append(rep.Checks, Check{ID: IDIdleTimeout, Status: StatusError})
	if got := rep.ExitCode(SeverityHigh); got != 2 {
		t.Errorf("with an error check: exit %d, want 2", got)
	}
	if got := rep.ExitCode(SeverityMedium); got != 1 {
		t.Errorf("findings win over errors: exit %d, want 1", got)
	}
	for _, s := range []string{"critical", "HIGH", "medium", "low", "none"} {
		if _, err := ParseSeverity(s); err != nil {
			t.Errorf("ParseSeverity(%q): %v", s, err)
		}
	}
	if _, err := ParseSeverity("urgent"); err == nil {
		t.Error("ParseSeverity accepted urgent")
	}
}
