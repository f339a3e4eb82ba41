package audit

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
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
	jsonURL    *url.URL // Target.LoginJSONPath: the JSON sign-in endpoint
	checkURL   *url.URL

	cookie     string            // the session cookie: the first of cookies that varies between sign-ins
	cookies    []string          // every cookie whose removal signs the user out; cookie first
	static     map[string]string // session cookies with the same value at two sign-ins
	forgeable  map[string]string // of those, the ones anyone can write, and why
	cookiePath string
	token      string   // the session cookie's value after the baseline sign-in
	victim     *browser // the baseline sign-in, whose jar the cookie checks read
	checkPage  *page    // the check page as the signed-in victim saw it
	signal     string   // how signed in was told from not, for the report
	// visitorStatus is what the check page answered a visitor without
	// cookies at the start: the control of later refusals.
	visitorStatus int

	warnMu sync.Mutex
	warns  []string

	liveMu sync.Mutex
	live   []*browser // browsers that may hold a signed-in session
	// Sessions of the test account: signed in, and not closed again.
	created, leftOpen atomic.Int64
	signIns           atomic.Int64 // requests that carried the credentials
	noLogout          atomic.Bool  // a session was left open for want of a way to log out

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
	rep := &Report{Target: WithoutUserinfo(target.BaseURL)}
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
	a := newAuditor(target, base)
	defer func() { rep.Requests = int(min(a.env.requests.Load(), a.env.maxRequests)) }()
	defer func() { rep.SignIns = int(a.signIns.Load()) }()
	if err := a.checkBudget(); err != nil {
		return couldNotAudit(rep, err)
	}

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
	rep.Checks = a.reportChecks(checks, rep.Framework)
	a.closeAll(runCtx)
	rep.SessionsCreated = int(a.created.Load())
	rep.SessionsLeftOpen = int(a.leftOpen.Load())
	if n := rep.SessionsLeftOpen; n > 0 {
		why := "logging out did not end them, or the audit ran out of time"
		if a.noLogout.Load() {
			why = "no way to log out is known: set Target.LogoutPath"
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

// newAuditor sets up the state of one audit of the validated target t.
func newAuditor(t Target, base *url.URL) *auditor {
	transport := t.Transport
	if transport == nil {
		transport = t.transport()
	}
	a := &auditor{
		t:    t,
		rand: t.rand,
		env: &env{
			base: base,
			client: &http.Client{
				Transport:     transport,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			},
			timeout:     t.Timeout,
			maxRequests: int64(1000 + 10*max(t.Samples, 0) + int(t.AbsoluteWait/keepAlive(t.AbsoluteWait))),
			secrets:     map[string]bool{},
			header:      t.Header,
			csrfHeader:  t.CSRFHeader,
		},
	}
	for _, o := range t.AllowOrigins {
		o, _ = parseOrigin(o)
		a.env.allowOrigins = append(a.env.allowOrigins, o)
	}
	a.maskSecrets()
	if t.Insecure {
		a.warn("Target.Insecure: the target's TLS certificate was not verified; anyone on the path could have read the password and the sessions, and answered in the application's place")
	}
	if t.AllowPasswordInURL {
		a.warn("Target.AllowPasswordInURL: a login form sent by GET puts the password in the URL, where server, proxy and browser logs keep it")
	}
	if a.rand == nil {
		a.rand = rand.Reader
	}
	return a
}

// reportChecks puts the checks in catalogue order, with secrets masked and
// the fixes for the failed ones in the terms of fw.
func (a *auditor) reportChecks(checks map[string]Check, fw *Framework) []Check {
	var out []Check
	for _, ci := range catalog {
		c := checks[ci.id]
		for i, line := range c.Evidence {
			c.Evidence[i] = a.env.redact(line)
		}
		for i := range c.Flow {
			c.Flow[i].Message = a.env.redact(c.Flow[i].Message)
		}
		if c.Status == StatusFail {
			c.Fixes = fixesFor(fw, c.ID)
		}
		out = append(out, c)
	}
	return out
}

// notFinished says why the audit stopped early, or nil if it did not.
func notFinished(parent, run context.Context, limit time.Duration) error {
	switch {
	case parent.Err() != nil:
		return fmt.Errorf("%w: interrupted (%v)", ErrNotFinished, context.Cause(parent))
	case run.Err() != nil:
		return fmt.Errorf("%w: the time limit (Target.MaxTime %v) was reached", ErrNotFinished, limit)
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
		// Three probes, each with a replay a moment after the sign-in.
		{ids: []string{IDFixation, IDAdoptsUnknownID}, weight: 3, extra: 3 * replayWait, run: func(ctx context.Context) map[string]Check {
			fix, adopt := a.checkFixation(ctx)
			return map[string]Check{IDFixation: fix, IDAdoptsUnknownID: adopt}
		}},
		{ids: []string{IDFixationURL}, weight: 3, run: single(IDFixationURL, a.checkFixationURL)},
		{ids: []string{IDLoginCSRF}, weight: 0.5, run: single(IDLoginCSRF, a.checkLoginCSRF)},
		{ids: []string{IDCookieSecure, IDCookieHTTPOnly, IDCookieSameSite, IDCookiePrefix, IDCookiePath, IDCookieLifetime}, weight: 0,
			run: func(context.Context) map[string]Check { return a.cookieChecks() }},
		{ids: []string{IDCacheControl}, weight: 0, run: noCtx(IDCacheControl, a.checkCacheControl)},
		{ids: []string{IDForgeableCookie}, weight: 0, run: noCtx(IDForgeableCookie, a.checkForgeable)},
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
				c.Evidence[0] = fmt.Sprintf("not finished within its share of Target.MaxTime (%s)", c.Evidence[0])
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

// waits is the time the whole audit may take: Target.MaxTime plus the opt-in
// waits.
func (a *auditor) waits() time.Duration {
	return a.t.MaxTime + a.t.IdleWait + a.t.AbsoluteWait
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
