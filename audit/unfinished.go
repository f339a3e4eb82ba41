package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

var (
	// ErrSignInUnfinished is returned when the sign-in stops at a step
	// the audit cannot complete: a one-time code, an approval on another
	// device, a consent or "trust this device" page, a forced password
	// change, or a page asking for the password again (a lock screen). A
	// page that asks for more input is not signed in, even if it names
	// the user.
	ErrSignInUnfinished = errors.New("sign-in not finished")
	// ErrAccountLocked is returned, with [ErrSignIn], when a sign-in that
	// worked fails after the audit's own wrong-password probe: the probe
	// probably locked the account.
	ErrAccountLocked = errors.New("account probably locked")
)

// Words of the pages that come between the password and a signed-in
// page, as the common frameworks word them (Django two-factor, Devise,
// Laravel Fortify, ASP.NET Identity, Spring Security, Keycloak, Okta,
// Microsoft, Google).
var (
	otpWords          = regexp.MustCompile(`(?i)\b(verification|authentication|security|one[- ]time|sign[- ]in|login|6-digit|six-digit)\s+(code|passcode|password|pin)\b|\btwo[- ](factor|step)\b|\b2-step\b|\b2fa\b|\bmfa\b|\bauthenticator app\b|\btotp\b|\bbackup codes?\b|\brecovery codes?\b|\bwe (sent|texted|emailed) (you )?a code\b|\benter the code\b`)
	approveWords      = regexp.MustCompile(`(?i)\bcheck your (phone|device|mobile|e-?mail|inbox)\b|\bwe(('ve| have)? sent|'ve emailed| emailed) you a (sign[- ]in |login |magic |verification )?link\b|\bapprove (the |this )?(sign[- ]in|login|request)\b|\bwaiting for (your )?approval\b|\b(sent|pushed) (a |you a )?(push )?notification\b|\bopen (the|your) .{0,20}app to (approve|confirm)\b|\bnumber matching\b`)
	keyWords          = regexp.MustCompile(`(?i)\b(use|insert|touch|tap) your (passkey|security key)\b|\bwaiting for (your )?(passkey|security key)\b|\bverify (it'?s|it is) you with (a|your) (passkey|security key|fingerprint|face)\b|\bsign in with (a|your) (passkey|security key)\b`)
	interstitialWords = regexp.MustCompile(`(?i)\b(trust|remember) this (device|browser|computer)\b|\bstay signed in\?|\bdon'?t ask again\b|\b(allow|grant|authori[sz]e) .{0,40}\baccess\b|\bwants to access your\b|\bterms of (service|use)\b.{0,60}\b(accept|agree)\b|\b(accept|agree to) (the )?terms\b`)
	newPasswordWords  = regexp.MustCompile(`(?i)\b(change|update|reset|choose|set) (your |a )?(new )?password\b|\bpassword (has )?expired\b|\bnew password\b`)
	lockPhrases       = regexp.MustCompile(`(?i)[^.!?\n]{0,60}\b(locked|lock(ed)? out|too many (failed )?(attempts|sign-ins|logins)|temporarily (blocked|disabled|suspended)|account (is )?(disabled|suspended|blocked))\b[^.!?\n]{0,60}`)
	searchNames       = regexp.MustCompile(`(?i)search|query|^q$|filter|newsletter`)
	// A JSON sign-in that answers 2xx but asks for a second factor, as
	// Okta, Cognito and many APIs word it.
	jsonStep = regexp.MustCompile(`(?i)"(mfa|2fa|otp|totp|two_?factor|second_?factor|tfa)_?(required|needed|pending)"\s*:\s*true|"requires?_?(mfa|2fa|otp|totp|two_?factor|second_?factor|tfa)"\s*:\s*true|"status"\s*:\s*"(mfa_required|mfa_enroll|mfa_challenge|password_expired)"|"ChallengeName"\s*:\s*"`)
	otpNames = regexp.MustCompile(`(?i)otp|totp|mfa|2fa|two.?factor|one.?time|passcode|verif|auth.?code|security.?code|token|^code$|_code$|-code$|challenge`)
)

// input is an <input> of a page, wherever it stands (a form or none).
type input struct {
	typ, name, id, auto, mode, placeholder string
	maxLen                                 int
}

// inputsOf lists the visible inputs of an HTML page.
func inputsOf(body []byte) []input {
	if !bytes.Contains(bytes.ToLower(body), []byte("<input")) {
		return nil
	}
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil
	}
	var out []input
	walk(doc, func(n *html.Node) bool {
		if n.Type != html.ElementNode {
			return true
		}
		if hiddenElement(n) {
			return false // a closed dialog, a hidden modal: nothing asked yet
		}
		if n.DataAtom != atom.Input {
			return true
		}
		in := input{typ: strings.ToLower(cmpOr(attrOr(n, "type"), "text")), name: attrOr(n, "name"), id: attrOr(n, "id"),
			auto: strings.ToLower(attrOr(n, "autocomplete")), mode: strings.ToLower(attrOr(n, "inputmode")), placeholder: attrOr(n, "placeholder")}
		in.maxLen, _ = strconv.Atoi(attrOr(n, "maxlength"))
		switch in.typ {
		case "hidden", "submit", "button", "image", "reset", "checkbox", "radio", "search":
		default:
			out = append(out, in)
		}
		return true
	})
	return out
}

// hiddenElement reports whether n and what it holds are not shown: the
// hidden attribute, aria-hidden, display:none, a <template>, a <dialog>
// that is not open.
func hiddenElement(n *html.Node) bool {
	if _, ok := attr(n, "hidden"); ok || attrOr(n, "aria-hidden") == "true" {
		return true
	}
	style := strings.ReplaceAll(strings.ToLower(attrOr(n, "style")), " ", "")
	if strings.Contains(style, "display:none") || strings.Contains(style, "visibility:hidden") {
		return true
	}
	switch n.DataAtom {
	case atom.Template:
		return true
	case atom.Dialog:
		_, open := attr(n, "open")
		return !open
	}
	return false
}

// unfinishedStep says why page p is a step of a sign-in that is not
// finished, or "" when it is not one. It is strict on purpose: a page
// that asks for a code, an approval, a choice or a password is never
// taken for a signed-in page.
func unfinishedStep(p *page) string {
	if p == nil || p.status < 200 || p.status > 299 {
		return ""
	}
	ct := p.header.Get("Content-Type")
	if strings.Contains(strings.ToLower(ct), "json") {
		if m := jsonStep.Find(p.body); m != nil {
			return "it answers that a second step is required: " + strconv.Quote(string(m))
		}
	}
	text := visibleText(p.body, ct)
	inputs := inputsOf(p.body)
	// A code typed one digit per box.
	if boxes := countInputs(inputs, func(in input) bool { return in.maxLen == 1 && in.typ != "password" }); boxes >= 4 {
		return fmt.Sprintf("it asks for a one-time code (%d one-character inputs)", boxes)
	}
	// Two password inputs or more after the sign-in: a new one and its
	// confirmation (a login form has one).
	if n := countInputs(inputs, func(in input) bool { return in.typ == "password" }); n >= 2 {
		return fmt.Sprintf("it asks for a new password (%d password inputs%s)", n, wordsOf(newPasswordWords, text))
	}
	// A user-name input beside the password is a login form: the sign-in
	// failed, which the check page tells; it is no step after it.
	userInput := slices.ContainsFunc(inputs, func(in input) bool {
		return in.typ == "text" || in.typ == "email" || in.typ == "tel" || in.typ == "url"
	})
	for _, in := range inputs {
		switch {
		case in.auto == "one-time-code":
			return fmt.Sprintf("it asks for a one-time code (an input with autocomplete=one-time-code%s)", nameOf(in))
		case otpNames.MatchString(in.name+" "+in.id) && (in.mode == "numeric" || in.typ == "number" || in.typ == "tel" || in.maxLen > 0 && in.maxLen <= 8):
			return fmt.Sprintf("it asks for a one-time code (a short numeric input%s)", nameOf(in))
		case in.typ == "password" && (in.auto == "new-password" || !userInput && newPasswordWords.MatchString(text)):
			return fmt.Sprintf("it asks for a new password (a forced password change%s%s)", nameOf(in), wordsOf(newPasswordWords, text))
		case in.typ == "password" && !userInput:
			return fmt.Sprintf("it asks for the password again (a lock screen or re-authentication%s)", nameOf(in))
		}
	}
	// A code asked for in words needs a field to type it in, among few:
	// a dashboard with a search box that mentions its two-factor setting
	// asks for nothing.
	codeField := len(inputs) <= 3 && slices.ContainsFunc(inputs, func(in input) bool {
		return in.typ != "email" && !searchNames.MatchString(in.name) && !searchNames.MatchString(in.id) && !searchNames.MatchString(in.placeholder)
	})
	switch {
	case codeField && otpWords.MatchString(text):
		return "it asks for a one-time code" + wordsOf(otpWords, text)
	case approveWords.MatchString(text):
		return "it waits for the sign-in to be approved on another device or by e-mail" + wordsOf(approveWords, text)
	case keyWords.MatchString(text):
		return "it asks for a passkey or a security key" + wordsOf(keyWords, text)
	case interstitialWords.MatchString(text) && strings.Contains(strings.ToLower(string(p.body)), "<form"):
		return "an interstitial asks for a choice before the application" + wordsOf(interstitialWords, text)
	}
	return ""
}

func countInputs(inputs []input, f func(input) bool) int {
	n := 0
	for _, in := range inputs {
		if f(in) {
			n++
		}
	}
	return n
}

func nameOf(in input) string {
	switch {
	case in.name != "":
		return ", name=" + strconv.Quote(in.name)
	case in.id != "":
		return ", id=" + strconv.Quote(in.id)
	}
	return ""
}

func wordsOf(re *regexp.Regexp, text string) string {
	if m := re.FindString(text); m != "" {
		return ": " + strconv.Quote(m)
	}
	return ""
}

// unfinishedErr is the error of a sign-in that stopped at step p.
func unfinishedErr(p *page, why string) error {
	return fmt.Errorf("%w: the sign-in stopped at %s: %s; the audit cannot complete such a step, so nothing was tested: use a test account without a second factor or pending step",
		ErrSignInUnfinished, p.describe(), why)
}

// lockWords is what the pages of a failed sign-in say about a lock, or "".
func lockWords(res *signInResult) string {
	for _, p := range []*page{res.submit, res.check} {
		if p == nil {
			continue
		}
		if m := lockPhrases.FindString(visibleText(p.body, p.header.Get("Content-Type"))); m != "" {
			return strings.TrimSpace(m)
		}
	}
	return ""
}

func strconvQuote(s string) string { return strconv.Quote(s) }

// refusingAll is the control of a "not signed in" answer of 403, 401 or
// 423: when a visitor without cookies, who got something else at the
// start of the audit, now gets the same, the application refuses
// everything (an account or address lockout, a firewall) and the answer
// shows nothing. It returns that as an error, nil otherwise.
func (a *auditor) refusingAll(ctx context.Context, p *page) error {
	st := p.status
	if st != http.StatusForbidden && st != http.StatusUnauthorized && st != http.StatusLocked || a.visitorStatus == 0 || a.visitorStatus == st {
		return nil
	}
	control := a.env.newBrowser("visitor")
	cp, err := control.get(ctx, a.checkURL)
	if err != nil || cp.status != st {
		return nil
	}
	return &refusedError{status: st, desc: fmt.Sprintf("%s, and a visitor without cookies, which got %d at the start of the audit, now gets %s too: the application refuses every request (an account or address lockout, a firewall), so this answer shows nothing",
		p.describe(), a.visitorStatus, cp.describe())}
}
