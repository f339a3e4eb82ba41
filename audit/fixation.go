package audit

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// checkFixation runs the two fixation probes of WSTG-SESS-03 and decides
// both the fixation and the adopts-unknown-id checks from them.
//
// Probe A (ID obtained by visiting): a fresh attacker opens the login
// page; the victim's browser gets exactly the attacker's cookies; the
// victim signs in; the attacker replays the cookies it held.
//
// Probe B (ID invented): the victim's browser gets a session cookie the
// server never issued; the victim signs in; the attacker replays it.
func (a *auditor) checkFixation(ctx context.Context) (fix, adopt Check) {
	fix, adopt = newCheck(IDFixation), newCheck(IDAdoptsUnknownID)
	S := a.cookie
	var hijacked, victimSignedIn bool
	// incomplete lists the attempts that met a refused response (429,
	// 5xx) or a network error: they show nothing either way.
	var incomplete, adoptIncomplete []string

	// Probe A.
	attacker := a.env.newBrowser("attacker")
	p, err := attacker.get(ctx, a.loginURL)
	switch {
	case err != nil:
		incomplete = append(incomplete, fmt.Sprintf("ID obtained by visiting: the attacker could not open the login page: %v", err))
	default:
		preLogin := attacker.jar.snapshot()
		a.preLoginTok, _ = attacker.jar.value(a.checkURL, S)
		held := cookieList(attacker.jar, a.checkURL)
		if len(preLogin) == 0 {
			fix.add("ID obtained by visiting: attacker %s, no cookies before sign-in: nothing to plant", p.describe())
			break
		}
		fix.add("ID obtained by visiting: attacker %s, holds %s", p.describe(), held)
		var fl flow
		fl.nav(actorAttacker, p)
		fl.add(actorAttacker, actorVictim, "plants %s in the victim's browser (from a sibling subdomain or a plain-HTTP response)", held)
		victim := a.env.newBrowser("victim")
		victim.jar.restore(preLogin)
		res, err := a.signInChecked(ctx, victim, a.loginURL)
		if err != nil {
			incomplete = append(incomplete, fmt.Sprintf("ID obtained by visiting: victim sign-in with the attacker's cookies: %v", err))
			break
		}
		fix.add("victim's browser gets the attacker's cookies and signs in: %s; %s", res.submit.describe(), a.signedInNote(res.ok, res.check))
		fl.nav(actorVictim, res.loginPage)
		fl.nav(actorVictim, res.submit)
		fl.nav(actorVictim, res.check)
		if !res.ok {
			break
		}
		victimSignedIn = true
		after, _ := victim.jar.value(a.checkURL, S)
		fix.add("victim's %s after sign-in: %s", S, sameOrRenewed(a.preLoginTok, after))
		replay := a.env.newBrowser("attacker")
		replay.jar.restore(preLogin)
		a.plantKnown(replay)
		ok, rp, err := a.signedIn(ctx, replay)
		if err != nil {
			incomplete = append(incomplete, fmt.Sprintf("ID obtained by visiting: attacker replay: %v", err))
			break
		}
		fix.add("attacker replays %s%s: %s", held, a.knownNote(), a.signedInNote(ok, rp))
		fl.nav(actorAttacker, rp)
		if ok && fix.Flow == nil {
			fix.Flow = fl
		}
		hijacked = hijacked || ok
	}

	// Probe B.
	invented := a.invent(a.token)
	victim := a.env.newBrowser("victim")
	victim.jar.plant(a.checkURL, S, invented, a.cookiePath)
	// The other session cookies that vary get invented values too.
	others := map[string]string{}
	for _, n := range a.cookies[1:] {
		if _, known := a.static[n]; known {
			continue
		}
		v, _ := a.victim.jar.value(a.checkURL, n)
		others[n] = a.invent(v)
		path := "/"
		if k, _, ok := a.victim.jar.stored(a.checkURL, n); ok {
			path = k.path
		}
		victim.jar.plant(a.checkURL, n, others[n], path)
	}
	victimBefore := victim.jar.snapshot()
	var flB flow
	res, err := a.signInChecked(ctx, victim, a.loginURL)
	if err != nil {
		incomplete = append(incomplete, fmt.Sprintf("invented ID: victim sign-in with an invented %s: %v", S, err))
		adoptIncomplete = append(adoptIncomplete, fmt.Sprintf("victim sign-in with an invented %s: %v", S, err))
		res = nil
	} else {
		fix.add("invented ID: victim's browser gets %s=%s and signs in: %s; %s", S, invented, res.submit.describe(), a.signedInNote(res.ok, res.check))
		flB.add(actorAttacker, actorVictim, "plants %s=%s, an ID it invented, in the victim's browser", S, invented)
		flB.nav(actorVictim, res.loginPage)
		flB.nav(actorVictim, res.submit)
		flB.nav(actorVictim, res.check)
	}

	// adopts-unknown-id: what the login page did with the invented ID.
	adopted, inconclusive := false, false
	if res != nil {
		set := res.loginPage.setCookie(S)
		switch {
		case set != nil && set.Value == invented:
			adopted = true
			adopt.add("%s with %s=%s: the server echoed it back in Set-Cookie", res.loginPage.describe(), S, invented)
		case set != nil && (set.Value == "" || set.MaxAge < 0):
			adopt.add("%s with %s=%s: the server deleted it (Set-Cookie with an empty or expired value)", res.loginPage.describe(), S, invented)
		case set != nil:
			adopt.add("%s with %s=%s: replaced by a new ID (%s)", res.loginPage.describe(), S, invented, set.Value)
		case a.preLoginTok != "":
			adopted = true
			adopt.add("%s with %s=%s: kept (no new ID), while a fresh visitor is given %s=%s", res.loginPage.describe(), S, invented, S, a.preLoginTok)
		default:
			inconclusive = true
			adopt.add("%s with %s=%s: no new ID; a fresh visitor gets no %s before sign-in either", res.loginPage.describe(), S, invented, S)
		}
		after, _ := victim.jar.value(a.checkURL, S)
		if res.ok {
			victimSignedIn = true
			if after == invented {
				adopted = true
				adopt.add("after sign-in the session's %s is still the invented ID", S)
			} else {
				adopt.add("after sign-in the session's %s is %s", S, sameOrRenewed(invented, after))
			}
			fix.add("victim's %s after sign-in: %s", S, sameOrRenewed(invented, after))
			replay := a.env.newBrowser("attacker")
			replay.jar.restore(victimBefore)
			a.plantKnown(replay)
			ok, rp, err := a.signedIn(ctx, replay)
			if err != nil {
				incomplete = append(incomplete, fmt.Sprintf("invented ID: attacker replay: %v", err))
			} else {
				fix.add("attacker uses %s=%s%s: %s", S, invented, a.knownNote(), a.signedInNote(ok, rp))
				flB.nav(actorAttacker, rp)
				if ok && fix.Flow == nil {
					fix.Flow = flB
				}
				hijacked = hijacked || ok
			}
		} else {
			adopt.add("the victim was not signed in afterwards (%s)", a.signedInNote(res.ok, res.check))
		}
	}

	switch {
	case hijacked:
		fix.fail(SeverityCritical)
		fix.add("the attacker was signed in as the victim with an ID held before the victim signed in")
	case len(incomplete) > 0:
		fix.errorf("not every attempt was completed, and none that was showed fixation: %s", strings.Join(incomplete, "; "))
	case !victimSignedIn:
		fix.errorf("the victim could not sign in while holding the planted cookies, so fixation could not be tested")
	default:
		fix.result(StatusPass)
	}
	switch {
	case adopted:
		adopt.fail(SeverityMedium)
	case len(adoptIncomplete) > 0:
		adopt.errorf("the attempt was not completed: %s", strings.Join(adoptIncomplete, "; "))
	case inconclusive && !res.ok:
		adopt.errorf("the login page neither replaced nor kept the invented ID, and the sign-in that would show what becomes of it failed")
	default:
		adopt.result(StatusPass)
	}
	return fix, adopt
}

// sameOrRenewed says whether a cookie kept its value across a step.
func sameOrRenewed(before, after string) string {
	switch {
	case after == "":
		return "gone"
	case before == after:
		return after + " (unchanged)"
	default:
		return after + " (renewed)"
	}
}

// cookieList is how evidence names the cookies an actor holds.
func cookieList(j *jar, u *url.URL) string {
	var parts []string
	for _, c := range j.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	if len(parts) == 0 {
		return "no cookies"
	}
	return strings.Join(parts, "; ")
}

// invent makes a session ID the server never issued, shaped like a real
// one (same length and character classes, %XX escapes and separators
// kept) so that a format check alone does not reject it.
func (a *auditor) invent(like string) string {
	if like == "" {
		like = strings.Repeat("0", 32)
	}
	alphabet := alphabetFor(like)
	out := []byte(like)
	buf := make([]byte, len(out))
	if _, err := io.ReadFull(a.rand, buf); err != nil {
		rand.Read(buf) // a broken test reader; crypto/rand never fails
	}
	for i := 0; i < len(out); i++ {
		if out[i] == '%' && i+2 < len(out) {
			i += 2
			continue
		}
		if strings.IndexByte(alphabet, out[i]) >= 0 {
			out[i] = alphabet[int(buf[i])%len(alphabet)]
		}
	}
	a.env.secret(string(out))
	return string(out)
}

// alphabetFor is the smallest usual token alphabet holding every
// letter and digit of s.
func alphabetFor(s string) string {
	var alnum []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			alnum = append(alnum, c)
		}
	}
	for _, al := range []string{alphaHexLower, alphaHexUpper, alphaBase32Hex, alphaBase32} {
		if subset(string(alnum), al) {
			return al
		}
	}
	return "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
}

func subset(s, alphabet string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(alphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}
