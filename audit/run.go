package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// auditor is the state of one audit.
type auditor struct {
	t    Target
	env  *env
	rand io.Reader
	// progressMu serialises progress lines from the sampling workers.
	progressMu sync.Mutex
	loginURL   *url.URL
	jsonURL    *url.URL // --login-json: the JSON sign-in endpoint
	checkURL   *url.URL

	cookie     string            // the session cookie: the first of cookies that varies between sign-ins
	cookies    []string          // every cookie whose removal signs the user out; cookie first
	static     map[string]string // session cookies with the same value at two sign-ins
	cookiePath string
	token      string   // the session cookie's value after the baseline sign-in
	victim     *browser // the baseline sign-in, whose jar the cookie checks read
	checkPage  *page    // the check page as the signed-in victim saw it
	signal     string   // how signed in was told from not, for the report

	warnMu sync.Mutex
	warns  []string

	liveMu sync.Mutex
	live   []*browser // browsers that may hold a signed-in session
	// Sessions of the test account: signed in, and not closed again.
	created, leftOpen atomic.Int64
	noLogout          atomic.Bool // a session was left open for want of a way to log out

	// preLoginTok is the session cookie a fresh visitor gets before
	// signing in, if any (found by the fixation probe).
	preLoginTok string
}

// Run audits the target and returns the report.
//
// When the audit cannot be done (the target is unreachable, signing in
// fails, the session cookie cannot be found) Run returns an error wrapping
// one of the Err… values, together with a report whose verdict is
// [VerdictCouldNotAudit] and whose checks are all [StatusError]: such an audit never
// reports a pass. Otherwise the error is nil and the report says what was
// found; checks that could not be performed are [StatusSkip] or [StatusError] with the
// reason as their first line of evidence.
//
// Run sends every request to the target's origin (and the origins of
// Target.AllowOrigins) and nowhere else, one at a time except while
// collecting token samples. It is safe to call
// concurrently with different targets.
func Run(ctx context.Context, target Target) (*Report, error) {
	rep := &Report{Target: target.BaseURL}
	switch {
	case target.LoginJSONPath != "":
		rep.SignIn = "json"
	case target.SignIn != nil:
		rep.SignIn = "driver"
	}
	base, err := target.validate()
	if err != nil {
		return couldNotAudit(rep, err)
	}
	rep.Target = base.String()
	transport := target.Transport
	if transport == nil {
		transport = target.transport()
	}
	a := &auditor{
		t:    target,
		rand: target.rand,
		env: &env{
			base: base,
			client: &http.Client{
				Transport:     transport,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			},
			timeout:     target.Timeout,
			maxRequests: int64(1000 + 10*max(target.Samples, 0) + int(target.AbsoluteWait/keepAlive(target.AbsoluteWait))),
			secrets:     map[string]bool{},
			header:      target.Header,
			csrfHeader:  target.CSRFHeader,
		},
	}
	for _, o := range target.AllowOrigins {
		o, _ = parseOrigin(o)
		a.env.allowOrigins = append(a.env.allowOrigins, o)
	}
	a.maskSecrets()
	if target.Insecure {
		a.warn("--insecure: the target's TLS certificate was not verified; anyone on the path could have read the password and the sessions, and answered in the application's place")
	}
	if target.AllowPasswordInURL {
		a.warn("--allow-password-in-url: a login form sent by GET puts the password in the URL, where server, proxy and browser logs keep it")
	}
	if a.rand == nil {
		a.rand = rand.Reader
	}
	defer func() { rep.Requests = int(min(a.env.requests.Load(), a.env.maxRequests)) }()

	defer func() { rep.Warnings = a.warnings() }()
	runCtx, cancel := context.WithTimeout(ctx, a.waits())
	defer cancel()
	if err := a.prepare(runCtx); err != nil {
		a.closeAll(runCtx)
		rep.SessionCookie = a.cookie
		rep.Requests = int(a.env.requests.Load())
		rep.SessionsCreated, rep.SessionsLeftOpen = int(a.created.Load()), int(a.leftOpen.Load())
		if e := notFinished(ctx, runCtx, a.waits()); e != nil {
			err = fmt.Errorf("%w (%v)", e, err)
		}
		rep, err = couldNotAudit(rep, a.env.redactErr(err))
		a.keepCredentialsInURL(rep)
		return rep, err
	}
	rep.SessionCookie = a.cookie
	rep.SessionCookies = a.cookies
	rep.CheckURL = a.env.redact(rel(a.checkURL))
	rep.SignedInSignal = a.env.redact(a.signal)

	checks := a.runChecks(ctx, runCtx)
	checks[IDCredentialsInURL] = a.checkCredentialsInURL()
	if runCtx.Err() == nil {
		rep.Framework = a.detectFramework(runCtx)
	}
	for _, ci := range catalog {
		c := checks[ci.id]
		for i, line := range c.Evidence {
			c.Evidence[i] = a.env.redact(line)
		}
		for i := range c.Flow {
			c.Flow[i].Message = a.env.redact(c.Flow[i].Message)
		}
		if c.Status == StatusFail {
			c.Fixes = fixesFor(rep.Framework, c.ID)
		}
		rep.Checks = append(rep.Checks, c)
	}
	a.closeAll(runCtx)
	rep.SessionsCreated = int(a.created.Load())
	rep.SessionsLeftOpen = int(a.leftOpen.Load())
	if n := rep.SessionsLeftOpen; n > 0 {
		why := "logging out did not end them, or the audit ran out of time"
		if a.noLogout.Load() {
			why = "no way to log out is known: pass --logout PATH"
		}
		a.warn(fmt.Sprintf("%d of the %d sessions the audit signed in could not be closed (%s); they stay signed in on the test account until they expire", n, rep.SessionsCreated, why))
	}
	rep.Warnings = a.warnings()
	rep.Requests = int(a.env.requests.Load())
	rep.finish(nil)
	if err := notFinished(ctx, runCtx, a.waits()); err != nil {
		return rep, a.env.redactErr(err)
	}
	return rep, nil
}

// cleanupTime is how long closing the audit's sessions may take once the
// audit was interrupted or ran out of time.
const cleanupTime = 5 * time.Second

// closeAll closes every session still open. An interrupt does not stop
// it; once ctx is done it has a few seconds.
func (a *auditor) closeAll(ctx context.Context) {
	limit := 10 * cleanupTime
	if ctx.Err() != nil {
		limit = cleanupTime
	}
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	defer cancel()
	a.closeSessions(c)
}

// notFinished says why the audit stopped early, or nil if it did not.
func notFinished(parent, run context.Context, limit time.Duration) error {
	switch {
	case parent.Err() != nil:
		return fmt.Errorf("%w: interrupted (%v)", ErrNotFinished, context.Cause(parent))
	case run.Err() != nil:
		return fmt.Errorf("%w: the time limit (--max-time %v) was reached", ErrNotFinished, limit)
	}
	return nil
}

// step is one or more checks run together, with a share of the time
// budget in proportion to its weight.
type step struct {
	ids    []string
	weight float64
	extra  time.Duration // time the step needs on top of its share (idle wait)
	run    func(ctx context.Context) map[string]Check
}

// runChecks runs every check in turn, each within its budget, closing the
// sessions it created when it is done. When runCtx ends (time limit,
// interrupt) the checks already finished are kept and the others are
// errors, "not finished".
func (a *auditor) runChecks(parent, runCtx context.Context) map[string]Check {
	single := func(id string, f func(context.Context) Check) func(context.Context) map[string]Check {
		return func(ctx context.Context) map[string]Check { return map[string]Check{id: f(ctx)} }
	}
	noCtx := func(id string, f func() Check) func(context.Context) map[string]Check {
		return func(context.Context) map[string]Check { return map[string]Check{id: f()} }
	}
	absWeight := 0.0 // skipped: takes no share of the time
	if a.t.AbsoluteWait > 0 {
		absWeight = 1
	}
	steps := []step{
		{ids: []string{IDFixation, IDAdoptsUnknownID}, weight: 2, run: func(ctx context.Context) map[string]Check {
			fix, adopt := a.checkFixation(ctx)
			return map[string]Check{IDFixation: fix, IDAdoptsUnknownID: adopt}
		}},
		{ids: []string{IDFixationURL}, weight: 3, run: single(IDFixationURL, a.checkFixationURL)},
		{ids: []string{IDLoginCSRF}, weight: 0.5, run: single(IDLoginCSRF, a.checkLoginCSRF)},
		{ids: []string{IDCookieSecure, IDCookieHTTPOnly, IDCookieSameSite, IDCookiePrefix, IDCookiePath, IDCookieLifetime}, weight: 0,
			run: func(context.Context) map[string]Check { return a.cookieChecks() }},
		{ids: []string{IDCacheControl}, weight: 0, run: noCtx(IDCacheControl, a.checkCacheControl)},
		{ids: []string{IDLogoutInvalidation}, weight: 1, run: single(IDLogoutInvalidation, a.checkLogout)},
		{ids: []string{IDTokenRandomness}, weight: 4, run: single(IDTokenRandomness, a.checkRandomness)},
		{ids: []string{IDIdleTimeout}, weight: 1, extra: a.t.IdleWait, run: single(IDIdleTimeout, a.checkIdle)},
		{ids: []string{IDAbsoluteTimeout}, weight: absWeight, extra: a.t.AbsoluteWait, run: single(IDAbsoluteTimeout, a.checkAbsolute)},
	}
	checks := map[string]Check{}
	for i, st := range steps {
		if runCtx.Err() != nil {
			for _, s := range steps[i:] {
				for _, id := range s.ids {
					c := newCheck(id)
					c.errorf("not finished: %v", notFinished(parent, runCtx, a.waits()))
					checks[id] = c
				}
			}
			break
		}
		ctx, cancel := a.budget(runCtx, steps[i:])
		got := st.run(ctx)
		budgetOver := ctx.Err() != nil && runCtx.Err() == nil
		cancel()
		for _, id := range st.ids {
			c := got[id]
			switch {
			case c.Status != StatusError:
			case runCtx.Err() != nil:
				c.Evidence[0] = fmt.Sprintf("not finished: %v (%s)", notFinished(parent, runCtx, a.waits()), c.Evidence[0])
			case budgetOver:
				c.Evidence[0] = fmt.Sprintf("not finished within its share of --max-time (%s)", c.Evidence[0])
			}
			checks[id] = c
		}
		a.closeAll(runCtx)
	}
	return checks
}

// budget gives the first of steps its share of the time left.
func (a *auditor) budget(ctx context.Context, steps []step) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	var total float64
	var extra time.Duration
	for _, s := range steps {
		total += s.weight
		extra += s.extra
	}
	left := time.Until(dl) - extra - min(cleanupTime, a.t.MaxTime/10)
	share := steps[0].extra
	if total > 0 && left > 0 {
		share += time.Duration(float64(left) * steps[0].weight / total)
	}
	// A check with no requests of its own needs no time; every other gets
	// at least a few seconds, never more than what is left.
	if steps[0].weight > 0 {
		share = max(share, 3*time.Second)
	} else {
		share = max(share, time.Second)
	}
	return context.WithTimeout(ctx, share)
}

// waits is the time the whole audit may take: --max-time plus the opt-in
// waits.
func (a *auditor) waits() time.Duration {
	return a.t.MaxTime + a.t.IdleWait + a.t.AbsoluteWait
}

// track registers a browser that submitted the login form: its session,
// if signed in, is closed when the audit no longer needs it.
func (a *auditor) track(b *browser) {
	a.liveMu.Lock()
	defer a.liveMu.Unlock()
	a.live = append(a.live, b)
}

// warn adds a line to the report's warnings, once.
func (a *auditor) warn(s string) {
	a.warnMu.Lock()
	defer a.warnMu.Unlock()
	if !slices.Contains(a.warns, s) {
		a.warns = append(a.warns, s)
	}
}

func (a *auditor) warnings() []string {
	a.warnMu.Lock()
	defer a.warnMu.Unlock()
	out := slices.Clone(a.warns)
	for i, w := range out {
		out[i] = a.env.redact(w)
	}
	return out
}

// closeSessions signs out every tracked browser. It runs after each check
// and when the audit ends, also when it was interrupted (then with a
// context of its own, for a few seconds).
func (a *auditor) closeSessions(ctx context.Context) {
	a.liveMu.Lock()
	live := a.live
	a.live = nil
	a.liveMu.Unlock()
	for i, b := range live {
		if ctx.Err() != nil {
			// Out of time: whatever was signed in stays open.
			for _, b := range live[i:] {
				if b.signedIn {
					a.created.Add(1)
					a.leftOpen.Add(1)
				}
			}
			return
		}
		a.closeOne(ctx, b)
	}
}

// closeOne signs b out if it is signed in, and counts the session.
func (a *auditor) closeOne(ctx context.Context, b *browser) {
	if a.checkURL == nil || b.closed {
		return // the audit stopped before it knew how to tell, or done
	}
	b.closed = true
	// Signing out is not interrupted: it gets a few seconds of its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTime)
	defer cancel()
	alive, p, err := a.signedIn(ctx, b)
	if err != nil {
		if b.signedIn {
			a.created.Add(1)
			a.leftOpen.Add(1)
		}
		return
	}
	if !alive && !b.signedIn {
		return // never signed in
	}
	a.created.Add(1)
	if !alive {
		return // already signed out (logout check, renewal)
	}
	var act *logoutAction
	if p != nil && p.status < 400 {
		var want *url.URL
		if a.t.LogoutPath != "" {
			want, _ = a.env.resolve(a.t.LogoutPath)
		}
		act, _ = findLogout(p.body, p.url, want)
		if act == nil && want != nil {
			act = &logoutAction{link: want}
		}
	}
	if act == nil {
		a.leftOpen.Add(1)
		a.noLogout.Store(true)
		return
	}
	if _, err := a.logout(ctx, b, act); err != nil {
		a.leftOpen.Add(1)
		return
	}
	if still, _, err := a.signedIn(ctx, b); err != nil || still {
		a.leftOpen.Add(1)
	}
}

// couldNotAudit turns every check into an error with the reason: a check
// of an audit that could not be done never passes.
func couldNotAudit(rep *Report, err error) (*Report, error) {
	rep.Checks = rep.Checks[:0]
	for _, ci := range catalog {
		c := newCheck(ci.id)
		c.errorf("could not audit: %v", err)
		rep.Checks = append(rep.Checks, c)
	}
	rep.finish(err)
	return rep, err
}

// prepare does what every check needs: reach the login page, sign in,
// find the check page and the session cookie. Any failure here means the
// target cannot be audited.
func (a *auditor) prepare(ctx context.Context) error {
	var err error
	if a.loginURL, err = a.env.resolve(a.t.LoginPath); err != nil {
		return fmt.Errorf("%w: --login: %v", ErrBadTarget, err)
	}
	if a.t.LoginJSONPath != "" {
		if a.jsonURL, err = a.env.resolve(a.t.LoginJSONPath); err != nil {
			return fmt.Errorf("%w: --login-json: %v", ErrBadTarget, err)
		}
	}
	if a.t.CheckPath != "" {
		if a.checkURL, err = a.env.resolve(a.t.CheckPath); err != nil {
			return fmt.Errorf("%w: --check: %v", ErrBadTarget, err)
		}
	}
	if a.t.LogoutPath != "" {
		if _, err := a.env.resolve(a.t.LogoutPath); err != nil {
			return fmt.Errorf("%w: --logout: %v", ErrBadTarget, err)
		}
	}

	victim := a.env.newBrowser("victim")
	res, err := a.signIn(ctx, victim, a.loginURL)
	if err != nil {
		return err
	}
	if a.checkURL == nil {
		// No --check: the page the sign-in lands on.
		if a.isLoginPage(res.submit) && res.submit.status < 300 && a.showsText(res.submit) {
			return fmt.Errorf("%w: %s shows %q but stays on the login page, so there is no page to check; pass --check with a page only a signed-in user sees",
				ErrSignIn, res.submit.describe(), a.t.Expect)
		}
		if res.submit.status == http.StatusForbidden {
			return fmt.Errorf("%w: %w: %s", ErrSignIn, ErrSignInForbidden, res.submit.describe())
		}
		if a.isLoginPage(res.submit) || res.submit.status >= 400 {
			return fmt.Errorf("%w as %q: %s; wrong --user or --password? (or pass --check with a page only a signed-in user sees)",
				ErrSignIn, a.t.User, res.submit.describe())
		}
		landing := *res.submit.url
		a.checkURL = &landing
	}
	ok, check, err := a.signedIn(ctx, victim)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	if !ok {
		if res.submit.hops[0].status == http.StatusForbidden {
			return fmt.Errorf("%w: %w: %s, then %s does not show %q", ErrSignIn, ErrSignInForbidden, res.submit.describe(), check.describe(), a.t.Expect)
		}
		return fmt.Errorf("%w as %q: %s, then %s does not show %q; wrong --user or --password, or --check/--expect?",
			ErrSignIn, a.t.User, res.submit.describe(), check.describe(), a.t.Expect)
	}
	a.checkPage = check
	signal := fmt.Sprintf("%s answers 2xx, is not the login page and shows %q when signed in (%s)", rel(a.checkURL), a.t.Expect, check.describe())

	visitor := a.env.newBrowser("visitor")
	ok, vp, err := a.signedIn(ctx, visitor)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	if ok {
		return fmt.Errorf("%w: %s shows %q to a visitor with no cookies; pass --check with a page only a signed-in user sees, or --expect",
			ErrPublicCheckPage, vp.describe(), a.t.Expect)
	}
	signal += "; without cookies: " + vp.describe()

	if a.t.NoWrongPasswordProbe {
		signal += "; wrong-password probe not run (--no-wrong-password-probe)"
	} else {
		// What a failed sign-in looks like: a page that shows the user
		// name after any attempt ("Sign-in failed for alice") must not
		// pass for signed in.
		wrong := a.env.newBrowser("wrong-password")
		buf := make([]byte, 12)
		if _, err := io.ReadFull(rand.Reader, buf); err != nil {
			return fmt.Errorf("%w: %v", ErrUnreachable, err)
		}
		wres, err := a.signInWith(ctx, wrong, a.loginURL, "sessionguard-wrong-"+hex.EncodeToString(buf))
		if err != nil {
			return err
		}
		ok, wp, err := a.signedIn(ctx, wrong)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnreachable, err)
		}
		if ok {
			return fmt.Errorf("%w: after a deliberately wrong password (%s) %s also shows %q, so it does not tell signed in from not; if --password is right, pass --expect with text only a signed-in user sees (or --no-wrong-password-probe)",
				ErrSignIn, wres.submit.describe(), wp.describe(), a.t.Expect)
		}
		signal += "; after a wrong password: " + wp.describe()
	}
	a.signal = signal
	return a.detectCookie(ctx, victim, res)
}

// signInResult is one pass through the login form.
type signInResult struct {
	loginPage *page
	form      *loginForm
	submit    *page
	ok        bool  // the check page showed the expected text afterwards
	check     *page // the check page after sign-in, when checked
}

// fetchLoginForm opens the login page at u and finds its form.
func (a *auditor) fetchLoginForm(ctx context.Context, b *browser, u *url.URL) (*page, *loginForm, error) {
	p, err := b.get(ctx, u)
	if isRefused(err) || errors.Is(err, ErrRedirectLoop) {
		return p, nil, err
	}
	if err != nil {
		return p, nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	if p.status >= 400 {
		return p, nil, fmt.Errorf("%w: %s", ErrNoLoginForm, p.describe())
	}
	forms, err := parseForms(p.body, p.url)
	if err != nil {
		return p, nil, fmt.Errorf("%w: %s: %v", ErrNoLoginForm, p.describe(), err)
	}
	lf, err := findLoginForm(forms, a.t.UserField, a.t.PasswordField)
	if err != nil {
		if p.hops[len(p.hops)-1].cut {
			err = fmt.Errorf("%v in the first %d MiB (the page is longer and was cut there)", err, maxBody>>20)
		}
		return p, nil, fmt.Errorf("%w: %s: %v", ErrNoLoginForm, p.describe(), err)
	}
	return p, lf, nil
}

// signIn opens the login page at u with b's cookies, fills in the form as
// served (hidden fields, action and all) and submits it. It does not check
// the result; see signInChecked.
func (a *auditor) signIn(ctx context.Context, b *browser, u *url.URL) (*signInResult, error) {
	return a.signInWith(ctx, b, u, a.t.Password)
}

// rememberHint matches the name of a "remember me" checkbox.
var rememberHint = regexp.MustCompile(`(?i)remember|persist|keep|stay`)

// signInWith is signIn with the given password.
func (a *auditor) signInWith(ctx context.Context, b *browser, u *url.URL, password string) (*signInResult, error) {
	switch {
	case a.jsonURL != nil:
		return a.signInJSON(ctx, b, u, password)
	case a.t.SignIn != nil:
		return a.signInDriven(ctx, b, u, password)
	}
	p, lf, err := a.fetchLoginForm(ctx, b, u)
	if err != nil {
		return nil, err
	}
	return a.submitLogin(ctx, b, p, lf, password)
}

// submitLogin fills in the login form lf found on p and submits it with b.
func (a *auditor) submitLogin(ctx context.Context, b *browser, p *page, lf *loginForm, password string) (*signInResult, error) {
	if lf.method != http.MethodPost && !a.t.AllowPasswordInURL {
		return nil, fmt.Errorf("%w: the login form on %s is sent by GET (it has no method=\"post\"), which would put the password in the URL; pass --allow-password-in-url to send it anyway",
			ErrUnsafeSignIn, relTo(a.env.base, p.url))
	}
	if !a.env.mayReceiveCredentials(p.url, lf.action) {
		return nil, fmt.Errorf("%w: the login form on %s posts to %s, another origin than the login page's %s; pass --allow-origin %s if that is the application's own sign-in service",
			ErrUnsafeSignIn, relTo(a.env.base, p.url), origin(lf.action), origin(p.url), origin(lf.action))
	}
	// Sign in as a user who does not ask to be remembered.
	f := lf.form
	f.fields = slices.DeleteFunc(slices.Clone(f.fields), func(fl field) bool {
		return fl.typ == "checkbox" && rememberHint.MatchString(fl.name)
	})
	method, target, body, ct, err := f.encode(map[string]string{lf.userField: a.t.User, lf.passField: password})
	if err != nil {
		return nil, fmt.Errorf("%w: encoding the form: %v", ErrNoLoginForm, err)
	}
	sub, err := b.do(ctx, method, target, body, ct)
	a.track(b) // whatever came of it, the server may hold a session now
	if errors.Is(err, ErrUnsafeSignIn) || isRefused(err) || errors.Is(err, ErrRedirectLoop) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return &signInResult{loginPage: p, form: lf, submit: sub}, nil
}

// signInChecked signs in and then asks the check page whether it worked.
// signInVictim signs a fresh victim browser in for check c. When it cannot,
// it records why on c as an error and reports false.
func (a *auditor) signInVictim(ctx context.Context, c *Check) (*browser, *signInResult, bool) {
	victim := a.env.newBrowser("victim")
	res, err := a.signInChecked(ctx, victim, a.loginURL)
	if err != nil {
		c.errorf("signing in: %v", err)
		return nil, nil, false
	}
	if !res.ok {
		c.errorf("signing in again failed: %s; %s", res.submit.describe(), a.signedInNote(res.ok, res.check))
		return nil, nil, false
	}
	return victim, res, true
}

func (a *auditor) signInChecked(ctx context.Context, b *browser, u *url.URL) (*signInResult, error) {
	res, err := a.signIn(ctx, b, u)
	if err != nil {
		return nil, err
	}
	res.ok, res.check, err = a.signedIn(ctx, b)
	return res, err
}

// signedIn asks the check page whether b is signed in: the page must be a
// success, not the login page, and show the expected text.
func (a *auditor) signedIn(ctx context.Context, b *browser) (bool, *page, error) {
	return a.signedInAt(ctx, b, a.checkURL)
}

func (a *auditor) signedInAt(ctx context.Context, b *browser, u *url.URL) (bool, *page, error) {
	p, err := b.get(ctx, u)
	if err != nil {
		return false, p, err
	}
	ok := a.showsSignedIn(p)
	b.signedIn = b.signedIn || ok
	return ok, p, nil
}

func (a *auditor) showsSignedIn(p *page) bool {
	if p.status < 200 || p.status > 299 || a.isLoginPage(p) {
		return false
	}
	return a.showsText(p)
}

// showsText reports whether the page's visible text has the expected text.
func (a *auditor) showsText(p *page) bool {
	return strings.Contains(visibleText(p.body, p.header.Get("Content-Type")), collapse(a.t.Expect))
}

// isLoginPage reports whether p is the login page: a page at the login
// URL, or, when the check page is the login URL itself (Servlet FORM
// authentication serves the form at the protected URL), a page there that
// holds a login form.
func (a *auditor) isLoginPage(p *page) bool {
	if p == nil || p.url == nil || stripPathParams(p.url.Path) != stripPathParams(a.loginURL.Path) {
		return false
	}
	if a.checkURL == nil || stripPathParams(a.checkURL.Path) != stripPathParams(a.loginURL.Path) {
		return true
	}
	forms, err := parseForms(p.body, p.url)
	if err != nil {
		return true
	}
	_, err = findLoginForm(forms, a.t.UserField, a.t.PasswordField)
	return err == nil
}

// stripPathParams drops ;jsessionid=… style parameters from a path.
func stripPathParams(p string) string {
	if i := strings.IndexByte(p, ';'); i >= 0 {
		return p[:i]
	}
	return p
}

// signedInNote is how evidence says what a check-page visit showed.
func (a *auditor) signedInNote(ok bool, p *page) string {
	if p == nil {
		return "no response"
	}
	if ok {
		return fmt.Sprintf("%s, shows %q: signed in", p.describe(), a.t.Expect)
	}
	return p.describe() + ": not signed in"
}

// detectCookie finds the session cookies: every cookie whose removal signs
// the victim out (or the ones named with --cookie). A second sign-in then
// shows which of them keep the same value from one sign-in to the next:
// those are forgeable, known to an attacker.
func (a *auditor) detectCookie(ctx context.Context, victim *browser, res *signInResult) error {
	names := victim.jar.names(a.checkURL)
	if len(names) == 0 {
		msg := fmt.Sprintf("signing in set no cookie (%s); sessions carried only in URLs cannot be audited", res.submit.describe())
		if r := victim.jar.rejections(); len(r) > 0 {
			msg += "; a browser would reject: " + strings.Join(r, ", ")
		}
		return fmt.Errorf("%w: %s", ErrNoSessionCookie, msg)
	}
	// Cookies set by the sign-in go first: that is where a session
	// cookie usually changes.
	var order []string
	for _, h := range res.submit.hops {
		for _, c := range h.setCookies {
			if slices.Contains(names, c.Name) && !slices.Contains(order, c.Name) {
				order = append(order, c.Name)
			}
		}
	}
	for _, n := range names {
		if !slices.Contains(order, n) {
			order = append(order, n)
		}
	}
	if len(a.t.Cookies) > 0 {
		for _, n := range a.t.Cookies {
			if !slices.Contains(names, n) {
				return fmt.Errorf("%w: --cookie %s is not set after sign-in (cookies: %s)", ErrNoSessionCookie, n, strings.Join(names, ", "))
			}
		}
		a.cookies = slices.Clone(a.t.Cookies)
	} else {
		for _, n := range order {
			probe := victim.clone("probe")
			probe.jar.remove(n)
			ok, _, err := a.signedIn(ctx, probe)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrUnreachable, err)
			}
			if !ok {
				a.cookies = append(a.cookies, n)
			}
		}
		if len(a.cookies) == 0 {
			return fmt.Errorf("%w: removing any one of the cookies (%s) does not sign the user out; pass --cookie NAME", ErrNoSessionCookie, strings.Join(order, ", "))
		}
	}

	// A second, separate sign-in: a session cookie with the same value
	// both times is not a secret.
	second := a.env.newBrowser("victim")
	res2, err := a.signInChecked(ctx, second, a.loginURL)
	if err != nil {
		return err
	}
	a.static = map[string]string{}
	if res2.ok {
		for _, n := range a.cookies {
			v1, _ := victim.jar.value(a.checkURL, n)
			v2, _ := second.jar.value(a.checkURL, n)
			if v1 == v2 {
				a.static[n] = v1
			}
		}
	}
	// The session cookie proper: the first that varies.
	a.cookie = a.cookies[0]
	for _, n := range a.cookies {
		if _, fixed := a.static[n]; !fixed {
			a.cookie = n
			break
		}
	}
	a.cookies = append([]string{a.cookie}, slices.DeleteFunc(slices.Clone(a.cookies), func(n string) bool { return n == a.cookie })...)
	// A copy: the victim's own session is closed when no longer needed,
	// the cookie checks read what the browser stored at sign-in.
	a.victim = victim.clone("victim")
	a.token, _ = victim.jar.value(a.checkURL, a.cookie)
	a.cookiePath = "/"
	if k, _, ok := victim.jar.stored(a.checkURL, a.cookie); ok {
		a.cookiePath = k.path
	}
	return nil
}

// plantKnown gives b the session cookies an attacker knows without
// stealing anything: those whose value is the same at every sign-in.
func (a *auditor) plantKnown(b *browser) {
	for _, n := range a.cookies {
		if v, ok := a.static[n]; ok {
			path := "/"
			if k, _, ok := a.victim.jar.stored(a.checkURL, n); ok {
				path = k.path
			}
			b.jar.plant(a.checkURL, n, v, path)
		}
	}
}

// knownNote says which cookies the attacker knows, for evidence.
func (a *auditor) knownNote() string {
	var parts []string
	for _, n := range a.cookies {
		if v, ok := a.static[n]; ok {
			parts = append(parts, n+"="+v)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " plus " + strings.Join(parts, "; ") + " (the same at every sign-in, so known to the attacker)"
}
