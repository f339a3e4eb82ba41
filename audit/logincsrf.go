package audit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// crossSiteOrigin is the attacker's site in the login-csrf check. The
// .invalid top-level domain (RFC 2606) can never be a real site.
const crossSiteOrigin = "https://attacker.invalid"

// checkLoginCSRF is login CSRF: a page of another site posts the sign-in
// form, as a browser would send it, and the browser is signed in to the
// account whose credentials the attacker chose (here the test account).
//
// The attacker copies the form from a visit of its own, hidden fields and
// all: a CSRF token in it is the attacker's, bound (if the application
// binds it) to the attacker's pre-login session, not to the victim's
// browser, which holds no cookie of the application.
func (a *auditor) checkLoginCSRF(ctx context.Context) Check {
	c := newCheck(IDLoginCSRF)
	if a.jsonURL != nil {
		c.skip(a.notFormReason() + ": another site's page cannot send an application/json request without a CORS preflight the application would have to allow; not tested")
		return c
	}
	if a.t.SignIn != nil {
		c.skip(a.notFormReason() + ": the login form is built by the page, so the form another site would copy is not known; not tested")
		return c
	}
	atk := a.env.newBrowser("attacker")
	p, lf, err := a.fetchLoginForm(ctx, atk, a.loginURL)
	if err != nil {
		c.errorf("the attacker could not fetch the login form: %v", err)
		return c
	}
	if lf.method != http.MethodPost {
		c.skip("the login form is sent by GET: a cross-site sign-in would be a link, which no Origin check can refuse; not tested, to keep the password out of URLs")
		return c
	}
	var hidden []string
	for _, f := range lf.fields {
		if f.typ == "hidden" {
			hidden = append(hidden, f.name)
		}
	}
	copied := "no hidden fields"
	if len(hidden) > 0 {
		copied = "its hidden fields (" + strings.Join(hidden, ", ") + ") as served to the attacker"
	}
	c.add("the attacker's page at %s holds the login form of %s with the test account's credentials and %s", crossSiteOrigin, relTo(a.env.base, p.url), copied)

	victim := a.env.newBrowser("victim")
	victim.crossSite = crossSiteOrigin
	res, err := a.submitLogin(ctx, victim, p, lf, a.t.Password)
	victim.crossSite = ""
	if errors.Is(err, ErrSignInBudget) {
		c.skip(fmt.Sprintf("not run: %v", err))
		return c
	}
	if err != nil {
		c.errorf("the cross-site sign-in was not completed: %v", err)
		return c
	}
	c.add("the victim's browser, with no cookies of the application, submits it from there (Origin: %s, Sec-Fetch-Site: cross-site): %s", crossSiteOrigin, res.submit.describe())
	ok, check, err := a.signedIn(ctx, victim)
	if err != nil {
		c.errorf("after the cross-site sign-in: %v", err)
		return c
	}
	c.add("the victim then opens %s: %s", rel(a.checkURL), a.signedInNote(ok, check))
	if ok {
		c.fail(SeverityMedium)
		c.add("a page of another site signed the victim's browser in to the account it chose")
		return c
	}
	if st := res.submit.hops[0].status; st == http.StatusForbidden || st == http.StatusBadRequest || st == 422 {
		c.add("the application refused the cross-site sign-in (%d %s)", st, http.StatusText(st))
	}
	c.result(StatusPass)
	return c
}
