package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback"
)

// A Step is one action of the narrated attack.
type Step struct {
	Actor  string `json:"actor"` // "attacker" or "victim"
	Action string `json:"action"`
	Result string `json:"result"`
}

// A Scenario is one way of fixing the session ID, run against one app.
type Scenario struct {
	Name     string `json:"name"`
	Hijacked bool   `json:"hijacked"`
	Steps    []Step `json:"steps"`
}

// An AttackRun is the attack against one application.
type AttackRun struct {
	App       string     `json:"app"` // "vulnerable" or "secure"
	URL       string     `json:"url"`
	Hijacked  bool       `json:"hijacked"` // some scenario signed the attacker in as the victim
	Scenarios []Scenario `json:"scenarios"`
}

// Target is an application to attack: where it is and the victim's
// credentials (which the attacker never learns).
type Target struct {
	App      string
	BaseURL  string
	Victim   string
	Password string
	// Cookies are the session cookie names to use for the fixed ID.
	Cookies []string
	// OnStep, when set, is called with each step as soon as it is done, so
	// that the story can be told as it happens.
	OnStep func(scenario string, s Step)
}

// Attack runs the session fixation attack against t, step by step, as the
// case this project grew from suffered it (a login/dashboard application
// that took its session ID from the URL and kept it across sign-in), with two scenarios: the attacker's link carrying a fixed ID
// (/login?session=ID), and a fixed ID planted as a cookie (cookie tossing).
// It returns an error only when the attack could not be carried out (the
// app is unreachable or the victim cannot sign in), never to mean "safe".
func Attack(ctx context.Context, t Target) (AttackRun, error) {
	run := AttackRun{App: t.App, URL: t.BaseURL}
	for _, sc := range []func(context.Context, Target) (Scenario, error){attackLink, attackPlanted} {
		s, err := sc(ctx, t)
		if err != nil {
			return run, fmt.Errorf("%s app: %s: %w", t.App, s.Name, err)
		}
		run.Scenarios = append(run.Scenarios, s)
		run.Hijacked = run.Hijacked || s.Hijacked
	}
	return run, nil
}

// add appends st to sc and reports it.
func (t Target) add(sc *Scenario, st Step) {
	sc.Steps = append(sc.Steps, st)
	if t.OnStep != nil {
		t.OnStep(sc.Name, st)
	}
}

func fixedID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func attackLink(ctx context.Context, t Target) (Scenario, error) {
	sc := Scenario{Name: "link with a fixed session ID"}
	id := fixedID()
	link := t.BaseURL + "/login?session=" + url.QueryEscape(id)
	t.add(&sc, Step{"attacker", "crafts a link carrying a session ID of its choosing and sends it to the victim", link})

	victim := loopback.NewBrowser("victim")
	page, err := victim.Do(ctx, "GET", link, nil)
	if err != nil {
		return sc, err
	}
	t.add(&sc, Step{"victim", "opens the link", describeCookies(page, id)})
	return finishAttack(ctx, t, sc, victim, page, id)
}

func attackPlanted(ctx context.Context, t Target) (Scenario, error) {
	sc := Scenario{Name: "fixed session ID planted as a cookie"}
	id := fixedID()
	victim := loopback.NewBrowser("victim")
	for _, name := range t.Cookies {
		victim.Plant(name, id)
	}
	t.add(&sc, Step{"attacker", "plants a session cookie with an ID of its choosing in the victim's browser (cookie tossing from a sibling subdomain)",
		fmt.Sprintf("%s=%s", strings.Join(t.Cookies, "|"), mask(id))})
	page, err := victim.Do(ctx, "GET", t.BaseURL+"/login", nil)
	if err != nil {
		return sc, err
	}
	t.add(&sc, Step{"victim", "opens the sign-in page", describeCookies(page, id)})
	return finishAttack(ctx, t, sc, victim, page, id)
}

// finishAttack has the victim sign in through the page as served, then the
// attacker use the fixed ID.
func finishAttack(ctx context.Context, t Target, sc Scenario, victim *loopback.Browser, page *loopback.Response, id string) (Scenario, error) {
	action, err := loopback.LoginAction(page)
	if err != nil {
		return sc, err
	}
	home, err := victim.Do(ctx, "POST", action, url.Values{"username": {t.Victim}, "password": {t.Password}})
	if err != nil {
		return sc, err
	}
	if !strings.Contains(home.Body, "Welcome "+t.Victim) {
		return sc, fmt.Errorf("the victim could not sign in (status %d at %s)", home.Status, home.URL)
	}
	var held []string
	for _, name := range t.Cookies {
		if v := victim.Cookie(name); v != "" {
			state := "a fresh ID"
			if v == id {
				state = "STILL THE ATTACKER'S ID"
			}
			held = append(held, fmt.Sprintf("%s=%s (%s)", name, mask(v), state))
		}
	}
	t.add(&sc, Step{"victim", "signs in through the form as served (action " + stripHost(action) + ")",
		fmt.Sprintf("sees \"Welcome %s\"; the browser now holds %s", t.Victim, strings.Join(held, ", "))})

	attacker := loopback.NewBrowser("attacker")
	for _, name := range t.Cookies {
		attacker.Plant(name, id)
	}
	dash, err := attacker.Do(ctx, "GET", t.BaseURL+"/dashboard?session="+url.QueryEscape(id), nil)
	if err != nil {
		return sc, err
	}
	sc.Hijacked = strings.Contains(dash.Body, "Welcome "+t.Victim)
	result := "is sent to the sign-in page: the fixed ID is worth nothing"
	if sc.Hijacked {
		result = fmt.Sprintf("HIJACKED: sees \"Welcome %s\" — the attacker is signed in as the victim", t.Victim)
	}
	t.add(&sc, Step{"attacker", "opens /dashboard with the fixed ID " + mask(id), result})
	return sc, nil
}

// describeCookies says what the server did with the session cookies when
// the victim opened page: adopted the attacker's ID, issued its own, or
// deleted the ID it was sent.
func describeCookies(page *loopback.Response, id string) string {
	var parts []string
	for _, c := range page.Set {
		switch {
		case c.MaxAge < 0 || c.Value == "":
			parts = append(parts, fmt.Sprintf("server deletes the %s cookie from the browser: it never issued that ID, so it refuses it instead of adopting it", c.Name))
		case c.Value == id:
			parts = append(parts, fmt.Sprintf("server sets %s=%s — the attacker's ID, adopted", c.Name, mask(c.Value)))
		default:
			parts = append(parts, fmt.Sprintf("server sets %s=%s, an ID of its own", c.Name, mask(c.Value)))
		}
	}
	if len(parts) == 0 {
		return "server sets no session cookie: the ID in the request is ignored"
	}
	return strings.Join(parts, "; ")
}

// mask shows enough of a session ID to follow it through the story.
func mask(id string) string {
	if len(id) <= 10 {
		return id
	}
	return id[:6] + "…" + id[len(id)-4:]
}

func stripHost(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.RequestURI()
}
