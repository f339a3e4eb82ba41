package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
)

// prepare does what every check needs: reach the login page, sign in,
// find the check page and the session cookie. Any failure here means the
// target cannot be audited.
func (a *auditor) prepare(ctx context.Context) error {
	var err error
	if a.loginURL, err = a.env.resolve(a.t.LoginPath); err != nil {
		return fmt.Errorf("%w: Target.LoginPath: %v", ErrBadTarget, err)
	}
	if a.t.LoginJSONPath != "" {
		if a.jsonURL, err = a.env.resolve(a.t.LoginJSONPath); err != nil {
			return fmt.Errorf("%w: Target.LoginJSONPath: %v", ErrBadTarget, err)
		}
	}
	if a.t.CheckPath != "" {
		if a.checkURL, err = a.env.resolve(a.t.CheckPath); err != nil {
			return fmt.Errorf("%w: Target.CheckPath: %v", ErrBadTarget, err)
		}
	}
	if a.t.LogoutPath != "" {
		if _, err := a.env.resolve(a.t.LogoutPath); err != nil {
			return fmt.Errorf("%w: Target.LogoutPath: %v", ErrBadTarget, err)
		}
	}

	victim := a.env.newBrowser("victim")
	res, err := a.signIn(ctx, victim, a.loginURL)
	if err != nil {
		return err
	}
	if why := unfinishedStep(res.submit); why != "" {
		return unfinishedErr(res.submit, why)
	}
	if a.checkURL == nil {
		// No Target.CheckPath: the page the sign-in lands on.
		if a.isLoginPage(res.submit) && res.submit.status < 300 && a.showsText(res.submit) {
			return fmt.Errorf("%w: %s shows %q but stays on the login page, so there is no page to check; set Target.CheckPath, a page only a signed-in user sees",
				ErrSignIn, res.submit.describe(), a.t.Expect)
		}
		if res.submit.status == http.StatusForbidden {
			return fmt.Errorf("%w: %w: %s", ErrSignIn, ErrSignInForbidden, res.submit.describe())
		}
		if a.isLoginPage(res.submit) || res.submit.status >= 400 {
			return fmt.Errorf("%w as %q: %s; wrong Target.User or Target.Password? Or set Target.CheckPath, a page only a signed-in user sees",
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
		if why := unfinishedStep(check); why != "" {
			return unfinishedErr(check, why)
		}
		if res.submit.hops[0].status == http.StatusForbidden {
			return fmt.Errorf("%w: %w: %s, then %s does not show %q", ErrSignIn, ErrSignInForbidden, res.submit.describe(), check.describe(), a.t.Expect)
		}
		return fmt.Errorf("%w as %q: %s, then %s does not show %q; wrong Target.User or Target.Password, or Target.CheckPath or Target.Expect?",
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
		return fmt.Errorf("%w: %s shows %q to a visitor with no cookies; set Target.CheckPath, a page only a signed-in user sees, or set Target.Expect",
			ErrPublicCheckPage, vp.describe(), a.t.Expect)
	}
	signal += "; without cookies: " + vp.describe()
	a.visitorStatus = vp.status

	if a.t.NoWrongPasswordProbe {
		signal += "; wrong-password probe not run (Target.NoWrongPasswordProbe)"
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
			return fmt.Errorf("%w: after a deliberately wrong password (%s) %s also shows %q, so it does not tell signed in from not; if Target.Password is right, set Target.Expect, text only a signed-in user is shown, or set Target.NoWrongPasswordProbe",
				ErrSignIn, wres.submit.describe(), wp.describe(), a.t.Expect)
		}
		signal += "; after a wrong password: " + wp.describe()
	}
	a.signal = signal
	return a.detectCookie(ctx, victim, res)
}
