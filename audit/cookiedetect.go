package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// detectCookie finds the session cookies: every cookie whose removal signs
// the victim out (or the ones named in Target.Cookies). A second sign-in then
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
				return fmt.Errorf("%w: %s (Target.Cookies) is not set after sign-in (cookies: %s)", ErrNoSessionCookie, n, strings.Join(names, ", "))
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
			return fmt.Errorf("%w: removing any one of the cookies (%s) does not sign the user out; set Target.Cookies", ErrNoSessionCookie, strings.Join(order, ", "))
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
