package audit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// urlCarrier is one way a session ID can ride in a link.
type urlCarrier struct {
	name      string
	pathParam bool // ;name=ID appended to the path instead of ?name=ID
}

func (c urlCarrier) String() string {
	if c.pathParam {
		return ";" + c.name + "="
	}
	return "?" + c.name + "="
}

// apply returns u carrying id.
func (c urlCarrier) apply(u *url.URL, id string) *url.URL {
	v := *u
	if c.pathParam {
		v.Path = stripPathParams(v.Path) + ";" + c.name + "=" + id
		v.RawPath = ""
		return &v
	}
	q := v.Query()
	q.Set(c.name, id)
	v.RawQuery = q.Encode()
	return &v
}

// urlCarrierNames are the names frameworks have used for URL sessions.
var urlCarrierNames = []string{"session", "sid", "PHPSESSID", "JSESSIONID"}

// urlCarriers lists the carriers tried: the session cookie's own name and
// the names frameworks have used for URL sessions.
func (a *auditor) urlCarriers() []urlCarrier {
	var out []urlCarrier
	seen := map[string]bool{}
	for _, n := range append([]string{a.cookie}, urlCarrierNames...) {
		if !seen[strings.ToLower(n)] {
			seen[strings.ToLower(n)] = true
			out = append(out, urlCarrier{name: n})
		}
	}
	return append(out, urlCarrier{name: "jsessionid", pathParam: true})
}

// checkFixationURL is the link attack: the victim opens the login page
// from a link carrying an ID the attacker knows, signs in through the page
// as served (its form action and links may carry the ID on), and the
// attacker then uses that ID, in the URL and as the session cookie.
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
		// A new ID for every link: one used before may since have been
		// signed in by another probe.
		id := ""
		var fl flow
		if a.preLoginTok != "" {
			atk := a.env.newBrowser("attacker")
			ap, err := atk.get(ctx, a.loginURL)
			fl.nav(actorAttacker, ap)
			if err != nil {
				incomplete = append(incomplete, fmt.Sprintf("%s: attacker visiting the site: %v", carrier, err))
				continue
			}
			id, _ = atk.jar.value(a.checkURL, a.cookie)
		}
		if id == "" {
			id = a.invent(a.token)
		}
		link := carrier.apply(a.loginURL, id)
		fl.add(actorAttacker, actorVictim, "sends the victim the link %s", rel(link))
		victim := a.env.newBrowser("victim")
		res, err := a.signIn(ctx, victim, link)
		if errors.Is(err, ErrNoLoginForm) && !isRefused(err) {
			// The server refuses the link (a 404 for ;jsessionid=, say):
			// that way in is closed.
			c.add("%s: the login page through %s gives no login form (%v)", carrier, rel(link), err)
			continue
		}
		if err != nil {
			incomplete = append(incomplete, fmt.Sprintf("%s: victim sign-in through %s: %v", carrier, rel(link), err))
			continue
		}
		ok, check, err := a.signedIn(ctx, victim)
		if err != nil {
			incomplete = append(incomplete, fmt.Sprintf("%s: %v", carrier, err))
			continue
		}
		fl.nav(actorVictim, res.loginPage)
		fl.nav(actorVictim, res.submit)
		fl.nav(actorVictim, check)
		// A session carried only in URLs shows on the landing page, not
		// on a bare check page.
		landed := a.showsSignedIn(res.submit)
		if !ok && !landed {
			// The victim is not signed in: this link shows nothing.
			c.add("%s: victim %s, %s; %s", carrier, res.loginPage.describe(), res.submit.describe(), a.signedInNote(ok, check))
			incomplete = append(incomplete, fmt.Sprintf("%s: the victim was not signed in after signing in through the link", carrier))
			continue
		}
		victimSignedIn = true
		note := a.signedInNote(ok, check)
		if !ok && landed {
			note = "signed in (landing page " + rel(res.submit.url) + ")"
		}
		line := carrier.String() + ": victim " + res.loginPage.describe() + ", " + res.submit.describe() + "; " + note

		attackerURL := a.checkURL
		if u := carrier.apply(a.checkURL, id); u != nil {
			attackerURL = u
		}
		atk := a.env.newBrowser("attacker")
		a.plantKnown(atk)
		hijacked, p, err := a.signedInAt(ctx, atk, attackerURL)
		if err != nil {
			incomplete = append(incomplete, fmt.Sprintf("%s: attacker: %v", carrier, err))
			continue
		}
		line += "; attacker " + a.signedInNote(hijacked, p)
		fl.nav(actorAttacker, p)
		if !hijacked {
			atk := a.env.newBrowser("attacker")
			a.plantKnown(atk)
			atk.jar.plant(a.checkURL, a.cookie, id, a.cookiePath)
			ok, p, err := a.signedIn(ctx, atk)
			if err != nil {
				incomplete = append(incomplete, fmt.Sprintf("%s: attacker with the ID as cookie: %v", carrier, err))
				continue
			}
			hijacked = ok
			line += "; attacker with " + a.cookie + "=" + id + ": " + a.signedInNote(ok, p)
			fl.nav(actorAttacker, p)
		}
		c.add("%s", line)
		if hijacked {
			c.Flow = fl
			c.fail(SeverityCritical)
			c.add("the ID in the login link became the victim's signed-in session: the attacker is signed in as the victim")
			return c
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
