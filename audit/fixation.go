package audit

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
)

// replayWait is how long after the victim's first page the attacker
// replays once more: an application that keeps the old ID working for a
// while, or renews it only later, is caught by an attacker who keeps
// trying, and the audit tries as such an attacker would.
const replayWait = time.Second

// fixationRun is what the probes of the fixation check showed.
type fixationRun struct {
	fix            *Check
	hijacked       bool
	victimSignedIn bool
	// incomplete lists the attempts that met a refused response (429,
	// 5xx, a refusal of everything) or a network error: they show nothing
	// either way.
	incomplete []string
}

// checkFixation runs the probes of WSTG-SESS-03 and decides both the
// fixation and the adopts-unknown-id checks from them.
//
// Probe A (ID obtained by visiting): a fresh attacker opens the login
// page; the victim's browser gets exactly the attacker's cookies; the
// victim signs in; the attacker replays what it held.
//
// Probe B (ID invented): the victim's browser gets a session cookie the
// server never issued; the victim signs in; the attacker replays it.
//
// Probe C (second sign-in of a browser): as A, in a browser that signed
// in and out before, and so holds whatever the application leaves there
// (a device cookie that makes later sign-ins keep the ID).
//
// The attacker replays deliberately and more than once: while the
// victim's sign-in redirects (an attacker polling the application wins a
// race with the victim's next page), after the victim's first page, and
// a moment later. Every cookie the victim holds after signing in whose
// value the attacker held before, whatever its name, is attacker-known
// and goes into the replay under its new name.
func (a *auditor) checkFixation(ctx context.Context) (fix, adopt Check) {
	fix = newCheck(IDFixation)
	r := &fixationRun{fix: &fix}
	a.probeVisited(ctx, r, false)
	adopt = a.probeInvented(ctx, r)
	if !r.hijacked {
		a.probeVisited(ctx, r, true)
	}
	switch {
	case r.hijacked:
		fix.fail(SeverityCritical)
		fix.add("the attacker was signed in as the victim with an ID held before the victim signed in")
	case len(r.incomplete) > 0:
		fix.errorf("not every attempt was completed, and none that was showed fixation: %s", strings.Join(r.incomplete, "; "))
	case !r.victimSignedIn:
		fix.errorf("the victim could not sign in while holding the planted cookies, so fixation could not be tested")
	default:
		fix.result(StatusPass)
	}
	return fix, adopt
}

// probeVisited is probe A, or C when returning is set.
func (a *auditor) probeVisited(ctx context.Context, r *fixationRun, returning bool) {
	label := "ID obtained by visiting"
	if returning {
		label = "ID obtained by visiting, second sign-in of a browser"
	}
	var fl flow
	attacker := a.env.newBrowser("attacker")
	p, err := attacker.get(ctx, a.loginURL)
	if err != nil {
		r.incomplete = append(r.incomplete, fmt.Sprintf("%s: the attacker could not open the login page: %v", label, err))
		return
	}
	held := attacker.jar.snapshot()
	if !returning {
		a.preLoginTok, _ = attacker.jar.value(a.checkURL, a.cookie)
	}
	heldDesc := cookieList(attacker.jar, a.checkURL)
	if len(held) == 0 {
		r.fix.add("%s: attacker %s, no cookies before sign-in: nothing to plant", label, p.describe())
		return
	}
	victim := a.env.newBrowser("victim")
	if returning && !a.signInAndOut(ctx, r, victim, label) {
		return
	}
	r.fix.add("%s: attacker %s, holds %s", label, p.describe(), heldDesc)
	fl.nav(actorAttacker, p)
	fl.add(actorAttacker, actorVictim, "plants %s in the victim's browser (from a sibling subdomain or a plain-HTTP response)", heldDesc)
	victim.jar.merge(held)
	a.signInAndReplay(ctx, r, victim, held, label, &fl)
}

// signInAndOut signs victim in and out again, for probe C. It reports
// whether the browser is ready for the probe.
func (a *auditor) signInAndOut(ctx context.Context, r *fixationRun, victim *browser, label string) bool {
	res, err := a.signInChecked(ctx, victim, a.loginURL)
	if err != nil {
		r.incomplete = append(r.incomplete, fmt.Sprintf("%s: the first sign-in: %v", label, err))
		return false
	}
	if !res.ok {
		r.incomplete = append(r.incomplete, fmt.Sprintf("%s: the first sign-in failed: %s", label, a.signedInNote(false, res.check)))
		return false
	}
	act, err := a.logoutAction(res)
	if err != nil || act == nil {
		// No way to log out: the browser as it would be after a logout
		// that ends the session, keeping every other cookie.
		first := victim.clone("victim")
		first.signedIn = true
		a.track(first) // the first session, closed when the check is done
		for _, n := range a.cookies {
			victim.jar.remove(n)
		}
		victim.signedIn = false
		r.fix.add("%s: the victim's browser signs in (%s); without a known logout, the session cookies are dropped and the others kept: %s", label, res.submit.describe(), cookieList(victim.jar, a.checkURL))
		return true
	}
	p, err := a.logout(ctx, victim, act)
	if err != nil {
		r.incomplete = append(r.incomplete, fmt.Sprintf("%s: logging out: %v", label, err))
		return false
	}
	still, _, err := a.signedIn(ctx, victim)
	if err != nil {
		r.incomplete = append(r.incomplete, fmt.Sprintf("%s: after logging out: %v", label, err))
		return false
	}
	if still {
		r.fix.add("%s: not tried, logging out (%s) did not sign the browser out", label, p.describe())
		return false
	}
	r.fix.add("%s: the victim's browser signs in (%s) and out (%s), keeping %s", label, res.submit.describe(), p.describe(), cookieList(victim.jar, a.checkURL))
	return true
}

// signInAndReplay signs the victim in with the cookies it holds and has
// the attacker replay held, the cookies the attacker held before.
func (a *auditor) signInAndReplay(ctx context.Context, r *fixationRun, victim *browser, held jarSnapshot, label string, fl *flow) *signInResult {
	replay := func(when string) {
		if !r.hijacked {
			a.replay(ctx, r, victim, held, label, when, fl)
		}
	}
	victim.onRedirect = func() {
		if !r.hijacked {
			fl.add(actorVictim, actorApplication, "submits the login form; the answer is a redirect, not followed yet")
		}
		replay("while the victim's sign-in redirects")
	}
	res, err := a.signInChecked(ctx, victim, a.loginURL)
	victim.onRedirect = nil
	if err != nil {
		r.incomplete = append(r.incomplete, fmt.Sprintf("%s: victim sign-in with the planted cookies: %v", label, err))
		return nil
	}
	r.fix.add("%s: the victim signs in: %s; %s", label, res.submit.describe(), a.signedInNote(res.ok, res.check))
	fl.nav(actorVictim, res.loginPage)
	fl.nav(actorVictim, res.submit)
	fl.nav(actorVictim, res.check)
	r.victimSignedIn = r.victimSignedIn || res.ok
	after, _ := victim.jar.value(a.checkURL, a.cookie)
	r.fix.add("%s: the victim's %s after sign-in: %s", label, a.cookie, describeAfter(held, after))
	replay("after the victim's first page")
	if !r.hijacked {
		select {
		case <-ctx.Done():
			r.incomplete = append(r.incomplete, fmt.Sprintf("%s: %v", label, ctx.Err()))
			return res
		case <-time.After(replayWait):
		}
	}
	replay(fmt.Sprintf("%v later", replayWait))
	return res
}

// replay is one attempt of the attacker: what it held before the
// sign-in, the victim's cookies whose value it held (under their new
// names), and the forgeable cookies.
func (a *auditor) replay(ctx context.Context, r *fixationRun, victim *browser, held jarSnapshot, label, when string, fl *flow) {
	atk := a.env.newBrowser("attacker")
	atk.jar.restore(held)
	moved := a.attackerKnown(victim, held)
	for _, m := range moved {
		atk.jar.plant(a.checkURL, m.name, m.value, m.path)
	}
	a.plantKnown(atk)
	ok, rp, err := a.signedIn(ctx, atk)
	if err != nil {
		r.incomplete = append(r.incomplete, fmt.Sprintf("%s: attacker replay %s: %v", label, when, err))
		return
	}
	r.fix.add("%s: %s the attacker replays %s%s%s: %s", label, when, cookieListOf(held), movedNote(moved), a.knownNote(), a.signedInNote(ok, rp))
	fl.nav(actorAttacker, rp)
	if ok {
		a.track(atk) // it may hold a session of its own now (an ID forwarded to it)
		r.hijacked = true
		if r.fix.Flow == nil {
			r.fix.Flow = *fl
		}
	}
}

// movedCookie is a cookie the victim holds after signing in whose value
// the attacker held before, under another name.
type movedCookie struct{ name, value, path, heldAs string }

// attackerKnown lists the victim's cookies whose value the attacker held
// before the sign-in under another name: a guest cart_token whose value
// becomes the signed-in sid.
func (a *auditor) attackerKnown(victim *browser, held jarSnapshot) []movedCookie {
	heldAs := map[string]string{}
	for k, c := range held {
		if len(c.value) >= 6 {
			heldAs[c.value] = k.name
		}
	}
	var out []movedCookie
	for k, c := range victim.jar.snapshot() {
		if name, ok := heldAs[c.value]; ok && name != k.name {
			out = append(out, movedCookie{name: k.name, value: c.value, path: k.path, heldAs: name})
		}
	}
	return out
}

func movedNote(moved []movedCookie) string {
	var parts []string
	for _, m := range moved {
		parts = append(parts, fmt.Sprintf("%s=%s (the value it held as %s)", m.name, m.value, m.heldAs))
	}
	if len(parts) == 0 {
		return ""
	}
	return " plus " + strings.Join(parts, "; ")
}

// describeAfter says what a cookie's value after the sign-in is to the
// attacker: renewed, or a value it held before, whatever the name.
func describeAfter(held jarSnapshot, after string) string {
	if after == "" {
		return "gone"
	}
	for k, c := range held {
		if c.value == after {
			return fmt.Sprintf("%s (the value the attacker held as %s before the sign-in: attacker-known)", after, k.name)
		}
	}
	return after + " (renewed: not a value the attacker held)"
}

// cookieListOf names the cookies of a snapshot, for evidence.
func cookieListOf(s jarSnapshot) string {
	var parts []string
	for k, c := range s {
		parts = append(parts, k.name+"="+c.value)
	}
	if len(parts) == 0 {
		return "no cookies"
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// probeInvented is probe B, which also decides adopts-unknown-id.
func (a *auditor) probeInvented(ctx context.Context, r *fixationRun) Check {
	adopt := newCheck(IDAdoptsUnknownID)
	S := a.cookie
	invented := a.invent(a.token)
	victim := a.env.newBrowser("victim")
	victim.jar.plant(a.checkURL, S, invented, a.cookiePath)
	// The other session cookies that vary get invented values too.
	for _, n := range a.cookies[1:] {
		if _, known := a.static[n]; known {
			continue
		}
		v, _ := a.victim.jar.value(a.checkURL, n)
		path := "/"
		if k, _, ok := a.victim.jar.stored(a.checkURL, n); ok {
			path = k.path
		}
		victim.jar.plant(a.checkURL, n, a.invent(v), path)
	}
	held := victim.jar.snapshot()
	var fl flow
	fl.add(actorAttacker, actorVictim, "plants %s=%s, an ID it invented, in the victim's browser", S, invented)
	r.fix.add("invented ID: the victim's browser gets %s", cookieListOf(held))
	res := a.signInAndReplay(ctx, r, victim, held, "invented ID", &fl)
	if res == nil {
		adopt.errorf("the attempt was not completed: victim sign-in with an invented %s", S)
		return adopt
	}
	a.decideAdopt(&adopt, res, victim, invented)
	return adopt
}

// decideAdopt is adopts-unknown-id: what the login page, and the
// sign-in, did with the invented ID.
func (a *auditor) decideAdopt(adopt *Check, res *signInResult, victim *browser, invented string) {
	S := a.cookie
	adopted, inconclusive := false, false
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
		if after == invented {
			adopted = true
			adopt.add("after sign-in the session's %s is still the invented ID", S)
		} else {
			adopt.add("after sign-in the session's %s is %s", S, sameOrRenewed(invented, after))
		}
	} else {
		adopt.add("the victim was not signed in afterwards (%s)", a.signedInNote(res.ok, res.check))
	}
	switch {
	case adopted:
		adopt.fail(SeverityMedium)
	case inconclusive && !res.ok:
		adopt.errorf("the login page neither replaced nor kept the invented ID, and the sign-in that would show what becomes of it failed")
	default:
		adopt.result(StatusPass)
	}
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
