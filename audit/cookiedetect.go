package audit

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
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
	if err == nil && !res2.ok {
		err = a.secondSignInFailed(res2)
	}
	if err != nil {
		return err
	}
	a.static, a.forgeable = map[string]string{}, map[string]string{}
	for _, n := range a.cookies {
		v1, _ := victim.jar.value(a.checkURL, n)
		v2, _ := second.jar.value(a.checkURL, n)
		if v1 != v2 {
			continue
		}
		a.static[n] = v1
		if why := forgeable(v1, a.t.User); why != "" {
			a.forgeable[n] = why
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

// plantKnown gives b the session cookies an attacker can write without
// stealing anything: the forgeable ones. A value that is merely the same
// at two sign-ins (a signed cookie whose timestamp is in seconds) is not
// attacker-known: the attacker never saw it.
func (a *auditor) plantKnown(b *browser) {
	for _, n := range a.cookies {
		if _, ok := a.forgeable[n]; ok {
			v := a.static[n]
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
		if _, ok := a.forgeable[n]; ok {
			parts = append(parts, n+"="+a.static[n])
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " plus " + strings.Join(parts, "; ") + " (forgeable, so known to the attacker)"
}

// forgeable says why a session cookie whose value was the same at two
// sign-ins can be written by anyone, or "" when it cannot be told: a
// value that holds the user name in the clear (user=alice, or base64 of
// it) and carries no signature, or a value so short it can be guessed
// (logged_in=1). A long value with a signature or no visible meaning
// (a signed cookie in the same second, a per-account token) is not
// forgeable for all that.
func forgeable(v, user string) string {
	if len(v) <= 8 {
		return fmt.Sprintf("%d characters, the same at every sign-in: guessable", len(v))
	}
	if looksSigned(v) {
		return ""
	}
	for _, d := range decodings(v) {
		if user != "" && strings.Contains(strings.ToLower(d), strings.ToLower(user)) {
			return "the user name in the clear, with no signature, the same at every sign-in: anyone can write it"
		}
	}
	return ""
}

// looksSigned reports whether v ends in what looks like a MAC: a segment
// of 16 or more base64url or hex characters after '.', '--' or '|' (Flask
// and itsdangerous, JWT, express-session, Rails, gorilla/securecookie).
func looksSigned(v string) bool {
	if u, err := url.QueryUnescape(v); err == nil {
		v = u
	}
	for _, sep := range []string{".", "--", "|"} {
		i := strings.LastIndex(v, sep)
		if i <= 0 {
			continue
		}
		tail := strings.TrimRight(v[i+len(sep):], "=")
		if len(tail) >= 16 && strings.Trim(tail, alphaBase64URL+"+/") == "" {
			return true
		}
	}
	return false
}

// decodings are v as sent, URL-decoded, and base64-decoded where it
// decodes.
func decodings(v string) []string {
	out := []string{v}
	if u, err := url.QueryUnescape(v); err == nil && u != v {
		out = append(out, u)
	}
	for _, s := range slices.Clone(out) {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil {
				out = append(out, string(b))
				break
			}
		}
	}
	return out
}

// secondSignInFailed says why the second sign-in of the set-up failed,
// naming the audit's own wrong-password probe when it came between the
// two: an account that locks after one failure is locked by it.
func (a *auditor) secondSignInFailed(res *signInResult) error {
	seen := res.submit.describe() + "; " + a.signedInNote(false, res.check)
	if words := lockWords(res); words != "" {
		seen += "; the page says " + strconvQuote(words)
	}
	if a.t.NoWrongPasswordProbe {
		return fmt.Errorf("%w: the first sign-in worked, a second one failed (%s): the application may allow one session at a time or limit sign-ins",
			ErrSignIn, seen)
	}
	return fmt.Errorf("%w: %w: the first sign-in worked, then the audit's wrong-password probe failed as meant, then the same sign-in failed (%s): the probe probably locked the account; unlock it and set Target.NoWrongPasswordProbe",
		ErrSignIn, ErrAccountLocked, seen)
}

// checkForgeable reports the session cookies anyone can write: a finding
// of its own, not fixation (which is about an ID the attacker held).
func (a *auditor) checkForgeable() Check {
	c := newCheck(IDForgeableCookie)
	var forged []string
	for _, n := range a.cookies {
		switch why, forged1 := a.forgeable[n]; {
		case forged1:
			forged = append(forged, n)
			c.add("%s=%s: %s; removing it signs the user out, so the session rests on it", n, a.static[n], why)
		case a.static[n] != "":
			c.add("%s: the same value at two sign-ins, but signed or of no visible meaning (a signed value within the same second, a per-account token): not forgeable from outside", n)
		default:
			c.add("%s: a new value at every sign-in", n)
		}
	}
	if len(forged) > 0 {
		c.fail(SeverityMedium)
		c.add("anyone can write %s: the session must rest on a secret the server issued", strings.Join(forged, ", "))
		return c
	}
	c.result(StatusPass)
	return c
}
