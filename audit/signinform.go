package audit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
)

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
		return nil, fmt.Errorf("%w: the login form on %s is sent by GET (it has no method=\"post\"), which would put the password in the URL; set Target.AllowPasswordInURL to send it anyway",
			ErrUnsafeSignIn, relTo(a.env.base, p.url))
	}
	if !a.env.mayReceiveCredentials(p.url, lf.action) {
		return nil, fmt.Errorf("%w: the login form on %s posts to %s, another origin than the login page's %s; add %s to Target.AllowOrigins if that is the application's own sign-in service",
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
	if err := a.spendSignIn(); err != nil {
		return nil, err
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

// signInVictim signs a fresh victim browser in for check c. When it cannot,
// it records why on c as an error and reports false.
func (a *auditor) signInVictim(ctx context.Context, c *Check) (*browser, *signInResult, bool) {
	victim := a.env.newBrowser("victim")
	res, err := a.signInChecked(ctx, victim, a.loginURL)
	if errors.Is(err, ErrSignInBudget) {
		c.skip(fmt.Sprintf("not run: %v", err))
		return nil, nil, false
	}
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

// signInChecked signs in and then asks the check page whether it worked.
func (a *auditor) signInChecked(ctx context.Context, b *browser, u *url.URL) (*signInResult, error) {
	res, err := a.signIn(ctx, b, u)
	if err != nil {
		return nil, err
	}
	res.ok, res.check, err = a.signedIn(ctx, b)
	return res, err
}
