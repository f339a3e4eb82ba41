package audit

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// checkLogout is WSTG-SESS-06: sign in, copy the cookies, log out, replay
// the copy.
func (a *auditor) checkLogout(ctx context.Context) Check {
	c := newCheck(IDLogoutInvalidation)
	victim, res, ok := a.signInVictim(ctx, &c)
	if !ok {
		return c
	}
	action, err := a.logoutAction(res)
	if err != nil {
		c.errorf("%v", err)
		return c
	}
	if action == nil {
		c.skip("no Target.LogoutPath given and no logout form or link found on " + rel(res.check.url) + " or " + rel(res.submit.url))
		return c
	}
	copied := victim.jar.snapshot()
	c.add("victim signs in (%s) and a copy of the cookies is taken: %s", res.submit.describe(), cookieList(victim.jar, a.checkURL))

	p, err := a.logout(ctx, victim, action)
	if err != nil {
		c.errorf("logging out: %v", err)
		return c
	}
	c.add("victim logs out: %s", p.describe())
	if p.hops[0].status >= 400 {
		c.errorf("logging out failed: %s; set Target.LogoutPath and Target.LogoutMethod", p.describe())
		return c
	}
	ok, vp, err := a.signedIn(ctx, victim)
	if err != nil {
		c.errorf("after logout: %v", err)
		return c
	}
	c.add("victim after logout: %s", a.signedInNote(ok, vp))
	if ok {
		c.errorf("the victim is still signed in after logging out (%s); set Target.LogoutPath and Target.LogoutMethod", p.describe())
		return c
	}
	replay := a.env.newBrowser("attacker")
	replay.jar.restore(copied)
	a.track(replay)
	ok, rp, err := a.signedIn(ctx, replay)
	if err != nil {
		c.errorf("replaying the copy: %v", err)
		return c
	}
	c.add("the copy taken before logout is replayed: %s", a.signedInNote(ok, rp))
	if ok {
		c.fail(SeverityHigh)
		c.add("logout cleared the browser's cookies but the session still works on the server")
		return c
	}
	c.result(StatusPass)
	return c
}

// logoutAction finds how to log out: the Target.LogoutPath (as a form on the
// signed-in pages if there is one, to carry its CSRF token) or a logout
// form or link found there.
func (a *auditor) logoutAction(res *signInResult) (*logoutAction, error) {
	var want *url.URL
	if a.t.LogoutPath != "" {
		u, err := a.env.resolve(a.t.LogoutPath)
		if err != nil {
			return nil, err
		}
		want = u
	}
	for _, p := range []*page{res.check, res.submit} {
		if p == nil || p.status >= 400 {
			continue
		}
		act, err := findLogout(p.body, p.url, want)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %v", rel(p.url), err)
		}
		if act != nil {
			return act, nil
		}
	}
	if want != nil {
		return &logoutAction{link: want}, nil
	}
	return nil, nil
}

// logout performs the action with Target.LogoutMethod when given.
func (a *auditor) logout(ctx context.Context, b *browser, act *logoutAction) (*page, error) {
	if act.form != nil {
		f := *act.form
		if a.t.LogoutMethod != "" {
			f.method = a.t.LogoutMethod
		}
		method, u, body, ct, err := f.encode(nil)
		if err != nil {
			return nil, err
		}
		return b.do(ctx, method, u, body, ct)
	}
	switch a.t.LogoutMethod {
	case http.MethodPost:
		if a.jsonURL != nil {
			// A JSON API: an empty JSON object, which APIs that read no
			// body ignore and APIs that parse one accept.
			return b.do(ctx, http.MethodPost, act.link, []byte("{}"), "application/json")
		}
		return b.do(ctx, http.MethodPost, act.link, []byte{}, "application/x-www-form-urlencoded")
	case http.MethodGet:
		return b.get(ctx, act.link)
	}
	p, err := b.get(ctx, act.link)
	if err == nil && p.hops[0].status == http.StatusMethodNotAllowed {
		return b.do(ctx, http.MethodPost, act.link, []byte{}, "application/x-www-form-urlencoded")
	}
	return p, err
}
