package audit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// urlCarrier is one way a session ID can ride in a link: one or more
// parameters, each carrying the value of a session cookie (ColdFusion
// needs CFID and CFTOKEN together).
type urlCarrier struct {
	params    []string
	cookies   []string // the session cookie whose value each param carries
	pathParam bool     // ;name=ID appended to the path instead of ?name=ID
}

func (c urlCarrier) String() string {
	if c.pathParam {
		return ";" + c.params[0] + "="
	}
	return "?" + strings.Join(c.params, "=&") + "="
}

// apply returns u carrying the values, one for each parameter.
func (c urlCarrier) apply(u *url.URL, vals []string) *url.URL {
	v := *u
	if c.pathParam {
		v.Path = stripPathParams(v.Path) + ";" + c.params[0] + "=" + vals[0]
		v.RawPath = ""
		return &v
	}
	q := v.Query()
	for i, p := range c.params {
		q.Set(p, vals[i])
	}
	v.RawQuery = q.Encode()
	return &v
}

// urlCarrierNames are the names frameworks have used for URL sessions.
var urlCarrierNames = []string{"session", "sid", "PHPSESSID", "JSESSIONID"}

// urlCarriers lists the carriers tried: the session cookie's own name,
// the names frameworks have used for URL sessions, ;jsessionid=, and,
// when the session rests on several cookies that vary, all of them at
// once under their own names.
func (a *auditor) urlCarriers() []urlCarrier {
	var out []urlCarrier
	seen := map[string]bool{}
	for _, n := range append([]string{a.cookie}, urlCarrierNames...) {
		if !seen[strings.ToLower(n)] {
			seen[strings.ToLower(n)] = true
			out = append(out, urlCarrier{params: []string{n}, cookies: []string{a.cookie}})
		}
	}
	out = append(out, urlCarrier{params: []string{"jsessionid"}, cookies: []string{a.cookie}, pathParam: true})
	var parts []string
	for _, n := range a.cookies {
		if _, fixed := a.static[n]; !fixed {
			parts = append(parts, n)
		}
	}
	if len(parts) > 1 {
		out = append(out, urlCarrier{params: parts, cookies: parts})
	}
	return out
}

// linkResult is what one link showed.
type linkResult struct {
	hijacked, victimSignedIn bool
	incomplete               string
}

// checkFixationURL is the link attack: the victim opens the login page
// from a link carrying an ID the attacker knows, signs in through the page
// as served (its form action and links may carry the ID on), and the
// attacker then uses that ID, in the URL and as the session cookie. When
// the victim does not look signed in afterwards (a session kept only in
// URLs, lost on the next page), the attacker's signed-in replay is the
// proof all the same.
func (a *auditor) checkFixationURL(ctx context.Context) Check {
	c := newCheck(IDFixationURL)
	if !a.usesForm() {
		c.skip(a.notFormReason() + ": no login form carries an ID from the login URL into the sign-in")
		return c
	}
	if a.preLoginTok != "" {
		c.add("each link carries a valid ID the attacker got by a fresh visit to the site")
	} else {
		c.add("each link carries an invented ID (a fresh visitor gets no session cookie before sign-in)")
	}
	victimSignedIn := false
	var incomplete []string
	for _, carrier := range a.urlCarriers() {
		r := a.tryLink(ctx, &c, carrier)
		if r.hijacked {
			c.fail(SeverityCritical)
			c.add("the ID in the login link became the victim's signed-in session: the attacker is signed in as the victim")
			return c
		}
		victimSignedIn = victimSignedIn || r.victimSignedIn
		if r.incomplete != "" {
			incomplete = append(incomplete, r.incomplete)
		}
	}
	switch {
	case len(incomplete) > 0:
		c.errorf("not every link was tested to the end, and none that was showed fixation: %s", strings.Join(incomplete, "; "))
	case !victimSignedIn:
		c.errorf("the victim could not sign in through any of the links, so the link attack could not be tested")
	default:
		c.result(StatusPass)
	}
	return c
}

// linkIDs are the values a link carries: from a fresh visit of the
// attacker when the site issues IDs before sign-in (a new visit for every
// link: an ID used before may since have been signed in by another
// probe), else invented.
func (a *auditor) linkIDs(ctx context.Context, carrier urlCarrier, fl *flow) ([]string, error) {
	vals := make([]string, len(carrier.cookies))
	if a.preLoginTok != "" {
		atk := a.env.newBrowser("attacker")
		ap, err := atk.get(ctx, a.loginURL)
		fl.nav(actorAttacker, ap)
		if err != nil {
			return nil, err
		}
		for i, n := range carrier.cookies {
			vals[i], _ = atk.jar.value(a.checkURL, n)
		}
	}
	for i, n := range carrier.cookies {
		if vals[i] == "" {
			like, _ := a.victim.jar.value(a.checkURL, n)
			vals[i] = a.invent(like)
		}
	}
	return vals, nil
}

// tryLink is the attack through one carrier.
func (a *auditor) tryLink(ctx context.Context, c *Check, carrier urlCarrier) linkResult {
	var fl flow
	ids, err := a.linkIDs(ctx, carrier, &fl)
	if err != nil {
		return linkResult{incomplete: fmt.Sprintf("%s: attacker visiting the site: %v", carrier, err)}
	}
	link := carrier.apply(a.loginURL, ids)
	fl.add(actorAttacker, actorVictim, "sends the victim the link %s", rel(link))
	victim := a.env.newBrowser("victim")
	res, err := a.signIn(ctx, victim, link)
	if errors.Is(err, ErrNoLoginForm) && !isRefused(err) {
		// The server refuses the link (a 404 for ;jsessionid=, say):
		// that way in is closed.
		c.add("%s: the login page through %s gives no login form (%v)", carrier, rel(link), err)
		return linkResult{}
	}
	if err != nil {
		return linkResult{incomplete: fmt.Sprintf("%s: victim sign-in through %s: %v", carrier, rel(link), err)}
	}
	ok, check, err := a.signedIn(ctx, victim)
	if err != nil {
		return linkResult{incomplete: fmt.Sprintf("%s: %v", carrier, err)}
	}
	fl.nav(actorVictim, res.loginPage)
	fl.nav(actorVictim, res.submit)
	fl.nav(actorVictim, check)
	// A session carried only in URLs shows on the landing page, not on a
	// bare check page.
	landed := a.showsSignedIn(res.submit)
	note := a.signedInNote(ok, check)
	if !ok && landed {
		note = "signed in (landing page " + rel(res.submit.url) + ")"
	}
	line := carrier.String() + ": victim " + res.loginPage.describe() + ", " + res.submit.describe() + "; " + note
	hijacked, more, err := a.linkAttacker(ctx, carrier, ids, &fl)
	line += more
	c.add("%s", line)
	if err != nil {
		return linkResult{incomplete: fmt.Sprintf("%s: attacker: %v", carrier, err)}
	}
	if hijacked {
		c.Flow = fl
		return linkResult{hijacked: true}
	}
	if !ok && !landed {
		return linkResult{incomplete: fmt.Sprintf("%s: the victim was not signed in after signing in through the link, and neither was the attacker", carrier)}
	}
	return linkResult{victimSignedIn: true}
}

// linkAttacker uses the link's IDs as the attacker: in the URL, then as
// the session cookies.
func (a *auditor) linkAttacker(ctx context.Context, carrier urlCarrier, ids []string, fl *flow) (bool, string, error) {
	atk := a.env.newBrowser("attacker")
	a.plantKnown(atk)
	hijacked, p, err := a.signedInAt(ctx, atk, carrier.apply(a.checkURL, ids))
	if err != nil {
		return false, "", err
	}
	line := "; attacker " + a.signedInNote(hijacked, p)
	fl.nav(actorAttacker, p)
	if hijacked {
		a.track(atk)
		return true, line, nil
	}
	atk = a.env.newBrowser("attacker")
	a.plantKnown(atk)
	var planted []string
	for i, n := range carrier.cookies {
		path := a.cookiePath
		if k, _, ok := a.victim.jar.stored(a.checkURL, n); ok {
			path = k.path
		}
		atk.jar.plant(a.checkURL, n, ids[i], path)
		planted = append(planted, n+"="+ids[i])
	}
	ok, p, err := a.signedIn(ctx, atk)
	if err != nil {
		return false, line, err
	}
	fl.nav(actorAttacker, p)
	if ok {
		a.track(atk)
	}
	return ok, line + "; attacker with " + strings.Join(planted, "; ") + ": " + a.signedInNote(ok, p), nil
}
