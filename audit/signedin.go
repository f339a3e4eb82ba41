package audit

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

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
	if !ok {
		if err := a.refusingAll(ctx, p); err != nil {
			return false, p, err
		}
	}
	return ok, p, nil
}

func (a *auditor) showsSignedIn(p *page) bool {
	if p.status < 200 || p.status > 299 || a.isLoginPage(p) || unfinishedStep(p) != "" {
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
